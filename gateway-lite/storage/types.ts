/**
 * The storage contract of gateway-lite. REST, guild actors and read states code against `Storage`; the SQLite and
 * PostgreSQL backends and the data service (coalescing + consistent-hash routing) all implement it, so callers never
 * know which one, or how many nodes, are behind it.
 *
 * Conventions: ids are snowflake decimal strings (`common/snowflake.ts`); times are epoch milliseconds; every method
 * rejects with `StorageUnavailableError` when the backend cannot be reached (REST answers 503), and a promise that
 * resolves means the write is durable under the backend's stated fsync semantics (see the storage README section).
 * Results of reads may be shared between concurrent identical callers (coalescing): treat them as read-only.
 */

export type Snowflake = string;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The backend is down or unreachable (connection refused, pool exhausted, disk gone). Nothing was acknowledged. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(
    readonly backend: StorageKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${backend} storage unavailable: ${message}`, options);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

/** An uploaded file as stored with its message; URLs are minted by the media service at upload time. */
export interface StoredAttachment {
  id: Snowflake;
  filename: string;
  size: number;
  contentType: string | null;
  /** Origin URL (signed) and the media-proxy URL, both as returned to clients. */
  url: string;
  proxyUrl: string;
  width: number | null;
  height: number | null;
  /** True for animated images (GIF/APNG/animated WebP); Discord exposes it as a flag. */
  animated: boolean;
  /** Base64 ThumbHash of the image (first frame when animated); absent for non-images. */
  placeholder?: string;
  /** ThumbHash format version (1) when `placeholder` is set. */
  placeholderVersion?: number;
  /** Alt text the sender gave in `attachments[].description`. */
  description?: string;
}

export interface StoredMessage {
  id: Snowflake;
  channelId: Snowflake;
  /** Null for DMs; denormalised so history rows render without a channel lookup. */
  guildId: Snowflake | null;
  authorId: Snowflake;
  content: string;
  /** Discord message type (0 default, 19 reply, …) and flags bitfield. */
  type: number;
  flags: number;
  tts: boolean;
  pinned: boolean;
  mentionEveryone: boolean;
  mentionUserIds: Snowflake[];
  mentionRoleIds: Snowflake[];
  attachments: StoredAttachment[];
  embeds: JsonObject[];
  /** message_reference for replies/forwards, as Discord's JSON object. */
  reference: JsonObject | null;
  /** Epoch ms of the last edit, null if never edited. The creation time is the snowflake's timestamp. */
  editedAt: number | null;
  /** Message components (action rows, buttons) as Discord's JSON; absent = none. */
  components?: JsonObject[];
  /** Set on messages an application sent in answer to an interaction (Discord's `interaction_metadata`). */
  interactionMetadata?: JsonObject | null;
  /** The application that sent it (interaction responses), as Discord's `application_id`/`webhook_id`. */
  applicationId?: Snowflake | null;
}

/** What a caller supplies to create a message; everything optional defaults to Discord's default. */
export type NewMessage = Pick<StoredMessage, 'id' | 'channelId' | 'authorId' | 'content'> &
  Partial<Omit<StoredMessage, 'id' | 'channelId' | 'authorId' | 'content' | 'editedAt'>>;

/** Fields PATCH may change. `editedAt` is set by the caller (REST sets it only for content/embeds edits). */
export type MessagePatch = Partial<
  Pick<
    StoredMessage,
    'content' | 'flags' | 'pinned' | 'embeds' | 'attachments' | 'mentionUserIds' | 'editedAt' | 'components'
  >
>;

/**
 * One page of history. At most one of before/after/around (REST validates that; storage treats several as a
 * programming error). `limit` is 1..100 at the REST edge; storage accepts any positive integer.
 */
export interface HistoryQuery {
  before?: Snowflake;
  after?: Snowflake;
  around?: Snowflake;
  limit: number;
}

export interface MessageStore {
  /**
   * Store a new message in its (channel, bucket) partition. Idempotent by id: a retry after a lost ack (or after
   * StorageUnavailableError) with the same id overwrites the same row instead of duplicating it.
   */
  createMessage(message: NewMessage): Promise<StoredMessage>;
  /** Apply a patch; resolves to the updated message, or null if the message does not exist in that channel. */
  editMessage(channelId: Snowflake, messageId: Snowflake, patch: MessagePatch): Promise<StoredMessage | null>;
  /** Delete one message; resolves true if it existed. The bucket index keeps the bucket until it is empty. */
  deleteMessage(channelId: Snowflake, messageId: Snowflake): Promise<boolean>;
  /** One message by (channel, id), or null. Costs one bucket read (the bucket is derived from the id). */
  getMessage(channelId: Snowflake, messageId: Snowflake): Promise<StoredMessage | null>;
  /**
   * A page of a channel's history, newest first, exactly as Discord's GET /channels/{id}/messages returns it:
   * no cursor → the newest `limit`; `before` → the newest `limit` older than it; `after` → the `limit` oldest newer
   * than it (still returned newest first); `around` → up to limit/2 older + the message itself + newer ones.
   * Walks only buckets the per-channel bucket index says are non-empty.
   */
  history(channelId: Snowflake, query: HistoryQuery): Promise<StoredMessage[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Platform entities

export interface StoredUser {
  id: Snowflake;
  username: string;
  globalName: string | null;
  avatar: string | null;
  bot: boolean;
  /**
   * SHA-256 (hex) of the bot token; the token itself is never stored. Null for users without a token. Unique.
   */
  tokenHash: string | null;
}

export interface StoredGuild {
  id: Snowflake;
  name: string;
  ownerId: Snowflake;
  icon: string | null;
}

/** Discord channel types used here: 0 GUILD_TEXT, 2 GUILD_VOICE (4 category accepted, not used yet). */
export type ChannelType = 0 | 2 | 4;

export interface StoredChannel {
  id: Snowflake;
  guildId: Snowflake;
  type: ChannelType;
  name: string;
  position: number;
  topic: string | null;
  parentId: Snowflake | null;
  /** Voice only: bits/s and user cap (0 = unlimited). */
  bitrate: number | null;
  userLimit: number | null;
}

export interface StoredMember {
  guildId: Snowflake;
  userId: Snowflake;
  nick: string | null;
  roleIds: Snowflake[];
  /** Epoch ms. */
  joinedAt: number;
}

/** Roles-lite: enough for permissions bits, hoisting (member-list groups) and ordering. */
export interface StoredRole {
  id: Snowflake;
  guildId: Snowflake;
  name: string;
  /** Permission bitfield as a decimal string, as Discord sends it. */
  permissions: string;
  position: number;
  color: number;
  hoist: boolean;
  mentionable: boolean;
}

export interface StoredVoiceState {
  guildId: Snowflake;
  userId: Snowflake;
  channelId: Snowflake;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  mute: boolean;
  deaf: boolean;
}

/** Keyset page over a guild's members ordered by user id, as GET /guilds/{id}/members?after=&limit= needs. */
export interface MemberPage {
  after?: Snowflake;
  limit: number;
}

export interface EntityStore {
  /** Insert or replace a user (matched by id). A tokenHash already held by another user is rejected. */
  upsertUser(user: StoredUser): Promise<void>;
  /** A user by id, or null. */
  getUser(id: Snowflake): Promise<StoredUser | null>;
  /** The (bot) user whose token hashes to `tokenHash`, or null; this is the auth lookup. */
  getUserByTokenHash(tokenHash: string): Promise<StoredUser | null>;

  /** Insert or replace a guild. */
  upsertGuild(guild: StoredGuild): Promise<void>;
  /** A guild by id, or null. */
  getGuild(id: Snowflake): Promise<StoredGuild | null>;
  /** Guilds the user is a member of, ordered by guild id (READY and GET /users/@me/guilds). */
  listGuildsForUser(userId: Snowflake): Promise<StoredGuild[]>;
  /** Delete a guild and everything under it (channels, members, roles, voice states; messages are kept). */
  deleteGuild(id: Snowflake): Promise<boolean>;

  /** Insert or replace a channel. */
  upsertChannel(channel: StoredChannel): Promise<void>;
  /** A channel by id, or null. */
  getChannel(id: Snowflake): Promise<StoredChannel | null>;
  /** A guild's channels ordered by (position, id). */
  listChannels(guildId: Snowflake): Promise<StoredChannel[]>;
  /** Delete a channel; resolves true if it existed. */
  deleteChannel(id: Snowflake): Promise<boolean>;

  /** Insert or replace a member (matched by guild + user). */
  upsertMember(member: StoredMember): Promise<void>;
  /** One member, or null. */
  getMember(guildId: Snowflake, userId: Snowflake): Promise<StoredMember | null>;
  /** Members with user id > page.after, ordered by user id, at most page.limit. */
  listMembers(guildId: Snowflake, page: MemberPage): Promise<StoredMember[]>;
  /** Remove a member; resolves true if it existed. */
  removeMember(guildId: Snowflake, userId: Snowflake): Promise<boolean>;

  /** Insert or replace a role. */
  upsertRole(role: StoredRole): Promise<void>;
  /** A guild's roles ordered by (position, id). */
  listRoles(guildId: Snowflake): Promise<StoredRole[]>;
  /** Delete a role; resolves true if it existed. */
  deleteRole(guildId: Snowflake, roleId: Snowflake): Promise<boolean>;

  /** Insert or replace a voice state (one per guild + user). Optional persistence: actors may keep them in memory. */
  upsertVoiceState(state: StoredVoiceState): Promise<void>;
  /** Remove a user's voice state in a guild; resolves true if it existed. */
  deleteVoiceState(guildId: Snowflake, userId: Snowflake): Promise<boolean>;
  /** A guild's voice states ordered by user id. */
  listVoiceStates(guildId: Snowflake): Promise<StoredVoiceState[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Applications and application commands

/** A bot's application: its Ed25519 key pair (Resound generates it) and where interactions are delivered. */
export interface StoredApplication {
  id: Snowflake;
  /** The bot user acting for the application (one bot per application, as on Discord). */
  botUserId: Snowflake;
  ownerId: Snowflake;
  name: string;
  description: string;
  /** Ed25519 public key, 32 bytes as hex: Discord's `verify_key`. */
  publicKey: string;
  /** Ed25519 private key, PKCS#8 DER as base64; signs outgoing interaction requests. Never leaves the server. */
  privateKey: string;
  /** Interactions are POSTed here when set (validated at save time); null = gateway INTERACTION_CREATE. */
  interactionsEndpointUrl: string | null;
  flags: number;
}

/** Discord's application command types. */
export type CommandType = 1 | 2 | 3;

export interface StoredCommand {
  id: Snowflake;
  applicationId: Snowflake;
  /** Null for a global command. */
  guildId: Snowflake | null;
  name: string;
  type: CommandType;
  /** A snowflake bumped on every change (Discord's `version`). */
  version: Snowflake;
  /** The rest of Discord's command object (description, options, default_member_permissions, nsfw, …). */
  data: JsonObject;
}

export interface ApplicationStore {
  /** Insert or replace an application (matched by id). */
  upsertApplication(app: StoredApplication): Promise<void>;
  getApplication(id: Snowflake): Promise<StoredApplication | null>;
  /** The application a bot user acts for, or null. */
  getApplicationByBot(botUserId: Snowflake): Promise<StoredApplication | null>;
  /** Commands of an application, global (`guildId` null) or of one guild, ordered by id. */
  listCommands(applicationId: Snowflake, guildId: Snowflake | null): Promise<StoredCommand[]>;
  getCommand(applicationId: Snowflake, commandId: Snowflake): Promise<StoredCommand | null>;
  /** Insert or replace one command (matched by id). */
  upsertCommand(command: StoredCommand): Promise<void>;
  deleteCommand(applicationId: Snowflake, commandId: Snowflake): Promise<boolean>;
  /** Bulk overwrite: the scope's commands become exactly `commands`, in one transaction. */
  replaceCommands(applicationId: Snowflake, guildId: Snowflake | null, commands: StoredCommand[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Read states

export interface ReadState {
  userId: Snowflake;
  channelId: Snowflake;
  /** Last acknowledged message id; '0' when the user has never read the channel. */
  lastMessageId: Snowflake;
  mentionCount: number;
}

export interface ReadStateStore {
  /** One read state, or null if never written. */
  getReadState(userId: Snowflake, channelId: Snowflake): Promise<ReadState | null>;
  /** All read states of a user, ordered by channel id (READY's read_state list). */
  listReadStates(userId: Snowflake): Promise<ReadState[]>;
  /** Upsert many read states in one transaction: all are durable when it resolves, or none on rejection. */
  upsertReadStates(states: readonly ReadState[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// The whole thing

export type StorageKind = 'sqlite' | 'postgres';

export interface Storage extends MessageStore, EntityStore, ReadStateStore {
  /** Backend kind; for a multi-node data service, the kind of its nodes. */
  readonly kind: StorageKind;
  /** Applications and their commands (on the primary node behind the data service). */
  readonly apps: ApplicationStore;
  /** Finish in-flight work and release files/connections. Idempotent. */
  close(): Promise<void>;
}

export interface SqliteStorageConfig {
  kind: 'sqlite';
  /** Directory holding the database file (created if missing); usually `$RESOUND_DATA_DIR/gateway-lite`. */
  dataDir: string;
  /** File name inside dataDir; default `storage.sqlite`. */
  fileName?: string;
  /**
   * PRAGMA synchronous: 'full' (default) fsyncs the WAL on every commit, so an acked write survives power loss;
   * 'normal' only survives a process crash (the OS may lose the last commits on power loss).
   */
  synchronous?: 'full' | 'normal';
}

export interface PostgresStorageConfig {
  kind: 'postgres';
  /** e.g. postgres://postgres@127.0.0.1:5432/test (DATABASE_URL). */
  databaseUrl: string;
  /** Schema holding the tables (created if missing); default `resound`. Tests use a schema per run. */
  schema?: string;
  /** Hash partitions of the messages table; default 16. Fixed at creation. */
  messagePartitions?: number;
  /** Pool size; default 10. */
  poolSize?: number;
}

export type BackendConfig = SqliteStorageConfig | PostgresStorageConfig;

/**
 * What `openStorage` takes: one backend, or several storage nodes that the data service routes to by channel_id on a
 * consistent-hash ring (entities and read states live on the first node). Coalescing is always on.
 */
export type StorageConfig = BackendConfig | { kind: 'cluster'; nodes: BackendConfig[] };

/** The factory exported by `gateway-lite/storage/index.ts`. */
export type OpenStorage = (config: StorageConfig) => Promise<Storage>;
