import type {
  EntityStore,
  Snowflake,
  StoredChannel,
  StoredGuild,
  StoredMember,
  StoredRole,
  StoredVoiceState,
} from '../storage/types.ts';
import type { MemberList } from '../member-list/member-list.ts';
import type { MemberListUpdate } from '../member-list/types.ts';
import { buildMemberList, hoistedRoles, listMember, type PresenceStatus } from './guild-member-list.ts';

/** Everything one guild's actor owns in memory; rebuilt from storage on (re)start. */
export interface GuildState {
  guild: StoredGuild;
  channels: Map<Snowflake, StoredChannel>;
  members: Map<Snowflake, StoredMember>;
  roles: Map<Snowflake, StoredRole>;
  voiceStates: Map<Snowflake, StoredVoiceState>;
  /** Built on first use (a SYNC or a presence change), then kept in step with every member change. */
  memberList?: MemberList;
}

export class UnknownGuildError extends Error {
  constructor(readonly guildId: Snowflake) {
    super(`unknown guild ${guildId}`);
    this.name = 'UnknownGuildError';
  }
}

export class ActorClosedError extends Error {
  constructor(readonly guildId: Snowflake) {
    super(`guild ${guildId} actor is closed (moved to another node or shutting down)`);
    this.name = 'ActorClosedError';
  }
}

export interface GuildActorHooks {
  /** A handler threw; the actor dropped its memory and will reload from storage before the next message. */
  onRestart?(guildId: Snowflake, err: unknown): void;
  /** The member list changed; the gateway sends this as GUILD_MEMBER_LIST_UPDATE to subscribed sessions. */
  onMemberList?(guildId: Snowflake, update: MemberListUpdate): void;
  /** A member joined (not an update of an existing one) or left; the gateway dispatches GUILD_MEMBER_ADD/REMOVE. */
  onMember?(guildId: Snowflake, change: 'add' | 'remove', member: StoredMember): void;
}

/** Members are paged from storage in chunks of this size when an actor loads. */
const LOAD_PAGE = 1000;

/**
 * One guild's state behind a serialised mailbox: messages run one at a time, in arrival order, so no two handlers
 * ever interleave on the same guild (Discord's guild process, in Elixir terms). Handlers write to storage first and
 * to memory second; a handler that throws leaves memory possibly half-changed, so the actor throws that memory away
 * and reloads from storage — committed writes survive, uncommitted ones never happened.
 */
export class GuildActor {
  private state: GuildState | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Presences are live facts, not stored: they survive an actor restart, not a process restart. */
  private readonly presences = new Map<Snowflake, PresenceStatus>();
  restarts = 0;

  constructor(
    readonly guildId: Snowflake,
    private readonly store: EntityStore,
    private readonly hooks: GuildActorHooks = {},
  ) {}

  /** Runs `fn` alone on the guild's state, after every earlier message. */
  run<R>(fn: (state: GuildState, store: EntityStore) => R | Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new ActorClosedError(this.guildId));
    const next = this.tail.then(async () => {
      const state = (this.state ??= await loadGuildState(this.store, this.guildId));
      try {
        return await fn(state, this.store);
      } catch (err) {
        this.state = null;
        this.restarts++;
        this.hooks.onRestart?.(this.guildId, err);
        throw err;
      }
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** A consistent copy for readers outside the mailbox (REST GETs). */
  snapshot(): Promise<GuildSnapshot> {
    return this.run((s) => ({
      guild: s.guild,
      channels: [...s.channels.values()].sort(byPosition),
      members: s.members.size,
      roles: [...s.roles.values()].sort(byPosition),
      voiceStates: [...s.voiceStates.values()],
    }));
  }

  upsertChannel(channel: StoredChannel): Promise<StoredChannel> {
    return this.run(async (s, store) => {
      await store.upsertChannel(channel);
      s.channels.set(channel.id, channel);
      return channel;
    });
  }

  upsertMember(member: StoredMember): Promise<StoredMember> {
    return this.run(async (s, store) => {
      await store.upsertMember(member);
      const joined = !s.members.has(member.userId);
      s.members.set(member.userId, member);
      if (joined) this.hooks.onMember?.(this.guildId, 'add', member);
      if (s.memberList) {
        const lm = listMember(
          member,
          await store.getUser(member.userId),
          hoistedRoles(s.roles.values()),
          this.status(member.userId),
        );
        this.publish(s.memberList, s.memberList.upsert(lm));
      }
      return member;
    });
  }

  removeMember(userId: Snowflake): Promise<boolean> {
    return this.run(async (s, store) => {
      const existed = await store.removeMember(this.guildId, userId);
      const member = s.members.get(userId);
      s.members.delete(userId);
      if (member) this.hooks.onMember?.(this.guildId, 'remove', member);
      s.voiceStates.delete(userId);
      if (s.memberList) this.publish(s.memberList, s.memberList.remove(userId));
      return existed;
    });
  }

  upsertRole(role: StoredRole): Promise<StoredRole> {
    return this.run(async (s, store) => {
      await store.upsertRole(role);
      s.roles.set(role.id, role);
      // Hoisting may have changed: drop the list and tell subscribers to re-SYNC (Discord's INVALIDATE).
      const old = s.memberList;
      if (old) {
        s.memberList = undefined;
        if (old.length) this.publish(old, [{ op: 'INVALIDATE', range: [0, old.length - 1] }]);
      }
      return role;
    });
  }

  /** Joins, moves or (channelId null) leaves voice. */
  setVoiceState(userId: Snowflake, next: Omit<StoredVoiceState, 'guildId' | 'userId'> | null): Promise<void> {
    return this.run(async (s, store) => {
      if (next === null) {
        await store.deleteVoiceState(this.guildId, userId);
        s.voiceStates.delete(userId);
        return;
      }
      const vs: StoredVoiceState = { ...next, guildId: this.guildId, userId };
      await store.upsertVoiceState(vs);
      s.voiceStates.set(userId, vs);
    });
  }

  /** The member-list window `start…end` (flattened indexes, inclusive) as a SYNC, with the group counts. */
  syncMemberList(start: number, end: number): Promise<MemberListUpdate> {
    return this.run(async (s, store) => {
      const list = await this.ensureList(s, store);
      return list.update([list.sync(start, end)]);
    });
  }

  /** A member's status changed (online, idle, dnd, offline); returns the list ops, also given to onMemberList. */
  setPresence(userId: Snowflake, status: PresenceStatus): Promise<MemberListUpdate | null> {
    return this.run(async (s, store) => {
      if (status === 'offline') this.presences.delete(userId);
      else this.presences.set(userId, status);
      const member = s.members.get(userId);
      if (!member) return null;
      const list = await this.ensureList(s, store);
      const lm = listMember(member, await store.getUser(userId), hoistedRoles(s.roles.values()), status);
      return this.publish(list, list.upsert(lm));
    });
  }

  /** Members currently not offline, with their status (GUILD_CREATE's presences). */
  onlinePresences(): Array<[Snowflake, PresenceStatus]> {
    return [...this.presences];
  }

  private status(userId: Snowflake): PresenceStatus {
    return this.presences.get(userId) ?? 'offline';
  }

  private async ensureList(s: GuildState, store: EntityStore): Promise<MemberList> {
    s.memberList ??= await buildMemberList(s.members.values(), s.roles.values(), store, (u) => this.status(u));
    return s.memberList;
  }

  private publish(list: MemberList, ops: MemberListUpdate['ops']): MemberListUpdate {
    const update = list.update(ops);
    if (ops.length) this.hooks.onMemberList?.(this.guildId, update);
    return update;
  }

  /** Storage changed behind the actor (a non-owner wrote guild rows): reload before the next message. */
  invalidate(): Promise<void> {
    return this.run(() => {
      this.state = null;
    });
  }

  /** Stops taking messages; resolves when the ones already queued have run. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}

export interface GuildSnapshot {
  guild: StoredGuild;
  channels: StoredChannel[];
  members: number;
  roles: StoredRole[];
  voiceStates: StoredVoiceState[];
}

const byPosition = (a: { position: number; id: string }, b: { position: number; id: string }) =>
  a.position - b.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

export async function loadGuildState(store: EntityStore, guildId: Snowflake): Promise<GuildState> {
  const guild = await store.getGuild(guildId);
  if (!guild) throw new UnknownGuildError(guildId);
  const [channels, roles, voiceStates] = await Promise.all([
    store.listChannels(guildId),
    store.listRoles(guildId),
    store.listVoiceStates(guildId),
  ]);
  const members = new Map<Snowflake, StoredMember>();
  for (let after: string | undefined; ;) {
    const page = await store.listMembers(guildId, { after, limit: LOAD_PAGE });
    for (const m of page) members.set(m.userId, m);
    if (page.length < LOAD_PAGE) break;
    after = page[page.length - 1].userId;
  }
  return {
    guild,
    channels: new Map(channels.map((c) => [c.id, c])),
    members,
    roles: new Map(roles.map((r) => [r.id, r])),
    voiceStates: new Map(voiceStates.map((v) => [v.userId, v])),
  };
}
