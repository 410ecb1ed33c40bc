/**
 * The data service between the API and the storage nodes (Discord's Rust data services): every read goes through the
 * coalescer, and message reads/writes are routed by channel_id on a consistent-hash ring, so all requests for one
 * channel reach one node. Entities and read states live on the first node (they are small and keyed by guild/user;
 * sharding them is the scale path in the README, not needed at this size).
 */
import { Coalescer } from './coalesce.ts';
import { HashRing } from './ring.ts';
import type {
  ApplicationStore,
  HistoryQuery,
  MemberPage,
  MessagePatch,
  NewMessage,
  ReadState,
  Snowflake,
  Storage,
  StorageKind,
  StoredApplication,
  StoredChannel,
  StoredCommand,
  StoredGuild,
  StoredMember,
  StoredMessage,
  StoredRole,
  StoredUser,
  StoredVoiceState,
} from './types.ts';

export interface StorageNode {
  /** Stable name placed on the ring (e.g. the file or url+schema); must be unique. */
  name: string;
  storage: Storage;
}

const ENTITIES = 'entities';
const channelScope = (channelId: Snowflake): string => `c:${channelId}`;
const readScope = (userId: Snowflake): string => `r:${userId}`;

export class DataService implements Storage {
  readonly kind: StorageKind;
  readonly coalescer = new Coalescer();
  readonly apps: ApplicationStore;
  private readonly ring: HashRing<Storage>;
  private readonly primary: Storage;
  private closed = false;

  constructor(readonly nodes: readonly StorageNode[]) {
    if (nodes.length === 0) throw new RangeError('the data service needs at least one storage node');
    if (new Set(nodes.map((n) => n.name)).size !== nodes.length)
      throw new RangeError('storage node names must be unique');
    this.ring = new HashRing(nodes.map((n) => [n.name, n.storage] as const));
    this.primary = nodes[0].storage;
    this.kind = this.primary.kind;
    this.apps = new CoalescedApps(this.primary.apps, this.coalescer);
  }

  /** The node that owns a channel's messages. */
  nodeFor(channelId: Snowflake): Storage {
    return this.ring.lookup(channelId);
  }

  // Messages: routed by channel_id.

  async createMessage(message: NewMessage): Promise<StoredMessage> {
    return this.write(channelScope(message.channelId), this.nodeFor(message.channelId).createMessage(message));
  }
  editMessage(channelId: Snowflake, messageId: Snowflake, patch: MessagePatch): Promise<StoredMessage | null> {
    return this.write(channelScope(channelId), this.nodeFor(channelId).editMessage(channelId, messageId, patch));
  }
  deleteMessage(channelId: Snowflake, messageId: Snowflake): Promise<boolean> {
    return this.write(channelScope(channelId), this.nodeFor(channelId).deleteMessage(channelId, messageId));
  }
  getMessage(channelId: Snowflake, messageId: Snowflake): Promise<StoredMessage | null> {
    return this.coalescer.run(channelScope(channelId), `m:${channelId}:${messageId}`, () =>
      this.nodeFor(channelId).getMessage(channelId, messageId),
    );
  }
  history(channelId: Snowflake, q: HistoryQuery): Promise<StoredMessage[]> {
    const key = `h:${channelId}:${q.before ?? ''}:${q.after ?? ''}:${q.around ?? ''}:${q.limit}`;
    return this.coalescer.run(channelScope(channelId), key, () => this.nodeFor(channelId).history(channelId, q));
  }

  // Entities: on the primary node; any entity write invalidates in-flight entity reads.

  upsertUser(user: StoredUser): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertUser(user));
  }
  getUser(id: Snowflake): Promise<StoredUser | null> {
    return this.read(`u:${id}`, () => this.primary.getUser(id));
  }
  getUserByTokenHash(tokenHash: string): Promise<StoredUser | null> {
    return this.read(`t:${tokenHash}`, () => this.primary.getUserByTokenHash(tokenHash));
  }
  upsertGuild(guild: StoredGuild): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertGuild(guild));
  }
  getGuild(id: Snowflake): Promise<StoredGuild | null> {
    return this.read(`g:${id}`, () => this.primary.getGuild(id));
  }
  listGuildsForUser(userId: Snowflake): Promise<StoredGuild[]> {
    return this.read(`gu:${userId}`, () => this.primary.listGuildsForUser(userId));
  }
  deleteGuild(id: Snowflake): Promise<boolean> {
    return this.write(ENTITIES, this.primary.deleteGuild(id));
  }
  upsertChannel(channel: StoredChannel): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertChannel(channel));
  }
  getChannel(id: Snowflake): Promise<StoredChannel | null> {
    return this.read(`ch:${id}`, () => this.primary.getChannel(id));
  }
  listChannels(guildId: Snowflake): Promise<StoredChannel[]> {
    return this.read(`chs:${guildId}`, () => this.primary.listChannels(guildId));
  }
  deleteChannel(id: Snowflake): Promise<boolean> {
    return this.write(ENTITIES, this.primary.deleteChannel(id));
  }
  upsertMember(member: StoredMember): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertMember(member));
  }
  getMember(guildId: Snowflake, userId: Snowflake): Promise<StoredMember | null> {
    return this.read(`mb:${guildId}:${userId}`, () => this.primary.getMember(guildId, userId));
  }
  listMembers(guildId: Snowflake, page: MemberPage): Promise<StoredMember[]> {
    return this.read(`mbs:${guildId}:${page.after ?? ''}:${page.limit}`, () => this.primary.listMembers(guildId, page));
  }
  removeMember(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.write(ENTITIES, this.primary.removeMember(guildId, userId));
  }
  upsertRole(role: StoredRole): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertRole(role));
  }
  listRoles(guildId: Snowflake): Promise<StoredRole[]> {
    return this.read(`rl:${guildId}`, () => this.primary.listRoles(guildId));
  }
  deleteRole(guildId: Snowflake, roleId: Snowflake): Promise<boolean> {
    return this.write(ENTITIES, this.primary.deleteRole(guildId, roleId));
  }
  upsertVoiceState(state: StoredVoiceState): Promise<void> {
    return this.write(ENTITIES, this.primary.upsertVoiceState(state));
  }
  deleteVoiceState(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.write(ENTITIES, this.primary.deleteVoiceState(guildId, userId));
  }
  listVoiceStates(guildId: Snowflake): Promise<StoredVoiceState[]> {
    return this.read(`vs:${guildId}`, () => this.primary.listVoiceStates(guildId));
  }

  // Read states: on the primary node, scoped per user.

  getReadState(userId: Snowflake, channelId: Snowflake): Promise<ReadState | null> {
    return this.coalescer.run(readScope(userId), `rs:${userId}:${channelId}`, () =>
      this.primary.getReadState(userId, channelId),
    );
  }
  listReadStates(userId: Snowflake): Promise<ReadState[]> {
    return this.coalescer.run(readScope(userId), `rss:${userId}`, () => this.primary.listReadStates(userId));
  }
  async upsertReadStates(states: readonly ReadState[]): Promise<void> {
    try {
      await this.primary.upsertReadStates(states);
    } finally {
      // Invalidate even on failure: part of the batch may be unknown-committed, never serve a pre-write read for it.
      for (const userId of new Set(states.map((s) => s.userId))) this.coalescer.invalidate(readScope(userId));
    }
  }

  /** Close every node (each close is idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.nodes.map((n) => n.storage.close()));
  }

  private read<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.coalescer.run(ENTITIES, key, fn);
  }

  private async write<T>(scope: string, op: Promise<T>): Promise<T> {
    try {
      return await op;
    } finally {
      this.coalescer.invalidate(scope);
    }
  }
}

const APPS = 'apps';

/** Applications and commands on the primary node; reads coalesced, any write invalidates in-flight reads. */
class CoalescedApps implements ApplicationStore {
  constructor(
    private readonly inner: ApplicationStore,
    private readonly coalescer: Coalescer,
  ) {}

  upsertApplication(app: StoredApplication): Promise<void> {
    return this.write(this.inner.upsertApplication(app));
  }
  getApplication(id: Snowflake): Promise<StoredApplication | null> {
    return this.coalescer.run(APPS, `a:${id}`, () => this.inner.getApplication(id));
  }
  getApplicationByBot(botUserId: Snowflake): Promise<StoredApplication | null> {
    return this.coalescer.run(APPS, `ab:${botUserId}`, () => this.inner.getApplicationByBot(botUserId));
  }
  listCommands(applicationId: Snowflake, guildId: Snowflake | null): Promise<StoredCommand[]> {
    return this.coalescer.run(APPS, `cl:${applicationId}:${guildId ?? ''}`, () =>
      this.inner.listCommands(applicationId, guildId),
    );
  }
  getCommand(applicationId: Snowflake, commandId: Snowflake): Promise<StoredCommand | null> {
    return this.coalescer.run(APPS, `c:${applicationId}:${commandId}`, () =>
      this.inner.getCommand(applicationId, commandId),
    );
  }
  upsertCommand(command: StoredCommand): Promise<void> {
    return this.write(this.inner.upsertCommand(command));
  }
  deleteCommand(applicationId: Snowflake, commandId: Snowflake): Promise<boolean> {
    return this.write(this.inner.deleteCommand(applicationId, commandId));
  }
  replaceCommands(applicationId: Snowflake, guildId: Snowflake | null, commands: StoredCommand[]): Promise<void> {
    return this.write(this.inner.replaceCommands(applicationId, guildId, commands));
  }

  private async write<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } finally {
      this.coalescer.invalidate(APPS);
    }
  }
}
