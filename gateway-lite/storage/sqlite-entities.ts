/**
 * Platform entities (users, guilds, channels, members, roles-lite, voice states) and read states on SQLite. The
 * connection is opened and migrated by SqliteStorage; this class only holds the prepared statements and mappings.
 */
import type Database from 'better-sqlite3';
import type {
  EntityStore,
  MemberPage,
  ReadState,
  ReadStateStore,
  Snowflake,
  StoredChannel,
  StoredGuild,
  StoredMember,
  StoredRole,
  StoredUser,
  StoredVoiceState,
} from './types.ts';
import { idToBigInt } from './buckets.ts';
import {
  type Row,
  optId,
  toChannel,
  toGuild,
  toMember,
  toReadState,
  toRole,
  toUser,
  toVoiceState,
} from './entity-rows.ts';

const flag = (v: boolean): number => (v ? 1 : 0);

export const SQLITE_ENTITY_DDL = `
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, global_name TEXT, avatar TEXT,
  bot INTEGER NOT NULL, token_hash TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS guilds (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_id INTEGER NOT NULL, icon TEXT);
CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, guild_id INTEGER NOT NULL, type INTEGER NOT NULL,
  name TEXT NOT NULL, position INTEGER NOT NULL, topic TEXT, parent_id INTEGER, bitrate INTEGER, user_limit INTEGER);
CREATE INDEX IF NOT EXISTS channels_by_guild ON channels (guild_id, position, id);
CREATE TABLE IF NOT EXISTS members (guild_id INTEGER NOT NULL, user_id INTEGER NOT NULL, nick TEXT,
  role_ids TEXT NOT NULL, joined_at INTEGER NOT NULL, PRIMARY KEY (guild_id, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, guild_id);
CREATE TABLE IF NOT EXISTS roles (guild_id INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL,
  permissions TEXT NOT NULL, position INTEGER NOT NULL, color INTEGER NOT NULL, hoist INTEGER NOT NULL,
  mentionable INTEGER NOT NULL, PRIMARY KEY (guild_id, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS voice_states (guild_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL, session_id TEXT NOT NULL, self_mute INTEGER NOT NULL, self_deaf INTEGER NOT NULL,
  mute INTEGER NOT NULL, deaf INTEGER NOT NULL, PRIMARY KEY (guild_id, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_states (user_id INTEGER NOT NULL, channel_id INTEGER NOT NULL,
  last_message_id INTEGER NOT NULL, mention_count INTEGER NOT NULL, PRIMARY KEY (user_id, channel_id)) WITHOUT ROWID;
`;

/** Entity and read-state statements: reads run in the availability guard, writes through the group commit. */
export class SqliteEntities implements EntityStore, ReadStateStore {
  private readonly s;

  constructor(
    protected readonly db: Database.Database,
    protected readonly guard: <T>(fn: () => T) => Promise<T>,
    protected readonly commit: <T>(fn: () => T) => Promise<T>,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      upsertUser:
        p(`INSERT INTO users VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET username = excluded.username,
        global_name = excluded.global_name, avatar = excluded.avatar, bot = excluded.bot, token_hash = excluded.token_hash`),
      getUser: p('SELECT * FROM users WHERE id = ?'),
      userByToken: p('SELECT * FROM users WHERE token_hash = ?'),
      upsertGuild: p(`INSERT INTO guilds VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,
        owner_id = excluded.owner_id, icon = excluded.icon`),
      getGuild: p('SELECT * FROM guilds WHERE id = ?'),
      guildsForUser: p(
        'SELECT g.* FROM members m JOIN guilds g ON g.id = m.guild_id WHERE m.user_id = ? ORDER BY g.id',
      ),
      deleteGuild: p('DELETE FROM guilds WHERE id = ?'),
      deleteGuildRows: ['channels', 'members', 'roles', 'voice_states'].map((t) =>
        p(`DELETE FROM ${t} WHERE guild_id = ?`),
      ),
      upsertChannel: p('INSERT OR REPLACE INTO channels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      getChannel: p('SELECT * FROM channels WHERE id = ?'),
      listChannels: p('SELECT * FROM channels WHERE guild_id = ? ORDER BY position, id'),
      deleteChannel: p('DELETE FROM channels WHERE id = ?'),
      upsertMember: p('INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?)'),
      getMember: p('SELECT * FROM members WHERE guild_id = ? AND user_id = ?'),
      listMembers: p('SELECT * FROM members WHERE guild_id = ? AND user_id > ? ORDER BY user_id LIMIT ?'),
      removeMember: p('DELETE FROM members WHERE guild_id = ? AND user_id = ?'),
      upsertRole: p('INSERT OR REPLACE INTO roles VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      listRoles: p('SELECT * FROM roles WHERE guild_id = ? ORDER BY position, id'),
      deleteRole: p('DELETE FROM roles WHERE guild_id = ? AND id = ?'),
      upsertVoice: p('INSERT OR REPLACE INTO voice_states VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      deleteVoice: p('DELETE FROM voice_states WHERE guild_id = ? AND user_id = ?'),
      listVoice: p('SELECT * FROM voice_states WHERE guild_id = ? ORDER BY user_id'),
      getReadState: p('SELECT * FROM read_states WHERE user_id = ? AND channel_id = ?'),
      listReadStates: p('SELECT * FROM read_states WHERE user_id = ? ORDER BY channel_id'),
      upsertReadState: p('INSERT OR REPLACE INTO read_states VALUES (?, ?, ?, ?)'),
    };
  }

  private one<T>(stmt: Database.Statement, map: (r: Row) => T, ...args: unknown[]): Promise<T | null> {
    return this.guard(() => {
      const r = stmt.get(...args) as Row | undefined;
      return r === undefined ? null : map(r);
    });
  }
  private all<T>(stmt: Database.Statement, map: (r: Row) => T, ...args: unknown[]): Promise<T[]> {
    return this.guard(() => (stmt.all(...args) as Row[]).map(map));
  }
  private run(stmt: Database.Statement, ...args: unknown[]): Promise<boolean> {
    return this.commit(() => stmt.run(...args).changes > 0);
  }

  async upsertUser(u: StoredUser): Promise<void> {
    await this.run(this.s.upsertUser, idToBigInt(u.id), u.username, u.globalName, u.avatar, flag(u.bot), u.tokenHash);
  }
  async getUser(userId: Snowflake): Promise<StoredUser | null> {
    return this.one(this.s.getUser, toUser, idToBigInt(userId));
  }
  async getUserByTokenHash(tokenHash: string): Promise<StoredUser | null> {
    return this.one(this.s.userByToken, toUser, tokenHash);
  }
  async upsertGuild(g: StoredGuild): Promise<void> {
    await this.run(this.s.upsertGuild, idToBigInt(g.id), g.name, idToBigInt(g.ownerId), g.icon);
  }
  async getGuild(guildId: Snowflake): Promise<StoredGuild | null> {
    return this.one(this.s.getGuild, toGuild, idToBigInt(guildId));
  }
  async listGuildsForUser(userId: Snowflake): Promise<StoredGuild[]> {
    return this.all(this.s.guildsForUser, toGuild, idToBigInt(userId));
  }
  async deleteGuild(guildId: Snowflake): Promise<boolean> {
    const gid = idToBigInt(guildId);
    return this.commit(() => {
      for (const st of this.s.deleteGuildRows) st.run(gid);
      return this.s.deleteGuild.run(gid).changes > 0;
    });
  }
  async upsertChannel(c: StoredChannel): Promise<void> {
    await this.run(
      this.s.upsertChannel,
      idToBigInt(c.id),
      idToBigInt(c.guildId),
      c.type,
      c.name,
      c.position,
      c.topic,
      optId(c.parentId),
      c.bitrate,
      c.userLimit,
    );
  }
  async getChannel(channelId: Snowflake): Promise<StoredChannel | null> {
    return this.one(this.s.getChannel, toChannel, idToBigInt(channelId));
  }
  async listChannels(guildId: Snowflake): Promise<StoredChannel[]> {
    return this.all(this.s.listChannels, toChannel, idToBigInt(guildId));
  }
  async deleteChannel(channelId: Snowflake): Promise<boolean> {
    return this.run(this.s.deleteChannel, idToBigInt(channelId));
  }
  async upsertMember(m: StoredMember): Promise<void> {
    const args = [idToBigInt(m.guildId), idToBigInt(m.userId), m.nick, JSON.stringify(m.roleIds), m.joinedAt];
    await this.run(this.s.upsertMember, ...args);
  }
  async getMember(guildId: Snowflake, userId: Snowflake): Promise<StoredMember | null> {
    return this.one(this.s.getMember, toMember, idToBigInt(guildId), idToBigInt(userId));
  }
  async listMembers(guildId: Snowflake, page: MemberPage): Promise<StoredMember[]> {
    const after = page.after === undefined ? -1n : idToBigInt(page.after);
    return this.all(this.s.listMembers, toMember, idToBigInt(guildId), after, page.limit);
  }
  async removeMember(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.run(this.s.removeMember, idToBigInt(guildId), idToBigInt(userId));
  }
  async upsertRole(r: StoredRole): Promise<void> {
    await this.run(
      this.s.upsertRole,
      idToBigInt(r.guildId),
      idToBigInt(r.id),
      r.name,
      r.permissions,
      r.position,
      r.color,
      flag(r.hoist),
      flag(r.mentionable),
    );
  }
  async listRoles(guildId: Snowflake): Promise<StoredRole[]> {
    return this.all(this.s.listRoles, toRole, idToBigInt(guildId));
  }
  async deleteRole(guildId: Snowflake, roleId: Snowflake): Promise<boolean> {
    return this.run(this.s.deleteRole, idToBigInt(guildId), idToBigInt(roleId));
  }
  async upsertVoiceState(v: StoredVoiceState): Promise<void> {
    await this.run(
      this.s.upsertVoice,
      idToBigInt(v.guildId),
      idToBigInt(v.userId),
      idToBigInt(v.channelId),
      v.sessionId,
      flag(v.selfMute),
      flag(v.selfDeaf),
      flag(v.mute),
      flag(v.deaf),
    );
  }
  async deleteVoiceState(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.run(this.s.deleteVoice, idToBigInt(guildId), idToBigInt(userId));
  }
  async listVoiceStates(guildId: Snowflake): Promise<StoredVoiceState[]> {
    return this.all(this.s.listVoice, toVoiceState, idToBigInt(guildId));
  }

  async getReadState(userId: Snowflake, channelId: Snowflake): Promise<ReadState | null> {
    return this.one(this.s.getReadState, toReadState, idToBigInt(userId), idToBigInt(channelId));
  }
  async listReadStates(userId: Snowflake): Promise<ReadState[]> {
    return this.all(this.s.listReadStates, toReadState, idToBigInt(userId));
  }
  async upsertReadStates(states: readonly ReadState[]): Promise<void> {
    const rows = states.map((r) => [
      idToBigInt(r.userId),
      idToBigInt(r.channelId),
      idToBigInt(r.lastMessageId),
      r.mentionCount,
    ]);
    await this.commit(() => {
      for (const row of rows) this.s.upsertReadState.run(...row);
    });
  }
}
