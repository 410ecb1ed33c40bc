/** Platform entities and read states on PostgreSQL; the pool, schema and availability guard come from PostgresStorage. */
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

export type Param = string | number | boolean | null | bigint;
/** Runs one statement through the pool inside the availability guard. */
export type Query = (sql: string, params: Param[]) => Promise<{ rows: Row[]; rowCount: number }>;

const big = (v: Snowflake): string => idToBigInt(v).toString();

export class PostgresEntities implements EntityStore, ReadStateStore {
  constructor(
    protected readonly q: Query,
    protected readonly s: string,
  ) {}

  private async one<T>(sql: string, map: (r: Row) => T, params: Param[]): Promise<T | null> {
    const { rows } = await this.q(sql, params);
    return rows.length === 0 ? null : map(rows[0]);
  }
  private async all<T>(sql: string, map: (r: Row) => T, params: Param[]): Promise<T[]> {
    return (await this.q(sql, params)).rows.map(map);
  }
  private async run(sql: string, params: Param[]): Promise<boolean> {
    return (await this.q(sql, params)).rowCount > 0;
  }

  async upsertUser(u: StoredUser): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.users VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET
       username = EXCLUDED.username, global_name = EXCLUDED.global_name, avatar = EXCLUDED.avatar, bot = EXCLUDED.bot,
       token_hash = EXCLUDED.token_hash`,
      [big(u.id), u.username, u.globalName, u.avatar, u.bot, u.tokenHash],
    );
  }
  async getUser(userId: Snowflake): Promise<StoredUser | null> {
    return this.one(`SELECT * FROM ${this.s}.users WHERE id = $1`, toUser, [big(userId)]);
  }
  async getUserByTokenHash(tokenHash: string): Promise<StoredUser | null> {
    return this.one(`SELECT * FROM ${this.s}.users WHERE token_hash = $1`, toUser, [tokenHash]);
  }
  async upsertGuild(g: StoredGuild): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.guilds VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
       owner_id = EXCLUDED.owner_id, icon = EXCLUDED.icon`,
      [big(g.id), g.name, big(g.ownerId), g.icon],
    );
  }
  async getGuild(guildId: Snowflake): Promise<StoredGuild | null> {
    return this.one(`SELECT * FROM ${this.s}.guilds WHERE id = $1`, toGuild, [big(guildId)]);
  }
  async listGuildsForUser(userId: Snowflake): Promise<StoredGuild[]> {
    return this.all(
      `SELECT g.* FROM ${this.s}.members m JOIN ${this.s}.guilds g ON g.id = m.guild_id WHERE m.user_id = $1
       ORDER BY g.id`,
      toGuild,
      [big(userId)],
    );
  }
  async deleteGuild(guildId: Snowflake): Promise<boolean> {
    const s = this.s;
    const { rows } = await this.q(
      `WITH c AS (DELETE FROM ${s}.channels WHERE guild_id = $1), m AS (DELETE FROM ${s}.members WHERE guild_id = $1),
       r AS (DELETE FROM ${s}.roles WHERE guild_id = $1), v AS (DELETE FROM ${s}.voice_states WHERE guild_id = $1),
       g AS (DELETE FROM ${s}.guilds WHERE id = $1 RETURNING 1) SELECT count(*)::int AS n FROM g`,
      [big(guildId)],
    );
    return Number(rows[0].n) > 0;
  }
  async upsertChannel(c: StoredChannel): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.channels VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET
       guild_id = EXCLUDED.guild_id, type = EXCLUDED.type, name = EXCLUDED.name, position = EXCLUDED.position,
       topic = EXCLUDED.topic, parent_id = EXCLUDED.parent_id, bitrate = EXCLUDED.bitrate,
       user_limit = EXCLUDED.user_limit`,
      [big(c.id), big(c.guildId), c.type, c.name, c.position, c.topic, optId(c.parentId), c.bitrate, c.userLimit],
    );
  }
  async getChannel(channelId: Snowflake): Promise<StoredChannel | null> {
    return this.one(`SELECT * FROM ${this.s}.channels WHERE id = $1`, toChannel, [big(channelId)]);
  }
  async listChannels(guildId: Snowflake): Promise<StoredChannel[]> {
    return this.all(`SELECT * FROM ${this.s}.channels WHERE guild_id = $1 ORDER BY position, id`, toChannel, [
      big(guildId),
    ]);
  }
  async deleteChannel(channelId: Snowflake): Promise<boolean> {
    return this.run(`DELETE FROM ${this.s}.channels WHERE id = $1`, [big(channelId)]);
  }
  async upsertMember(m: StoredMember): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.members VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guild_id, user_id) DO UPDATE SET
       nick = EXCLUDED.nick, role_ids = EXCLUDED.role_ids, joined_at = EXCLUDED.joined_at`,
      [big(m.guildId), big(m.userId), m.nick, JSON.stringify(m.roleIds), m.joinedAt],
    );
  }
  async getMember(guildId: Snowflake, userId: Snowflake): Promise<StoredMember | null> {
    return this.one(`SELECT * FROM ${this.s}.members WHERE guild_id = $1 AND user_id = $2`, toMember, [
      big(guildId),
      big(userId),
    ]);
  }
  async listMembers(guildId: Snowflake, page: MemberPage): Promise<StoredMember[]> {
    const after = page.after === undefined ? '-1' : big(page.after);
    return this.all(
      `SELECT * FROM ${this.s}.members WHERE guild_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
      toMember,
      [big(guildId), after, page.limit],
    );
  }
  async removeMember(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.run(`DELETE FROM ${this.s}.members WHERE guild_id = $1 AND user_id = $2`, [big(guildId), big(userId)]);
  }
  async upsertRole(r: StoredRole): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.roles VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (guild_id, id) DO UPDATE SET
       name = EXCLUDED.name, permissions = EXCLUDED.permissions, position = EXCLUDED.position, color = EXCLUDED.color,
       hoist = EXCLUDED.hoist, mentionable = EXCLUDED.mentionable`,
      [big(r.guildId), big(r.id), r.name, r.permissions, r.position, r.color, r.hoist, r.mentionable],
    );
  }
  async listRoles(guildId: Snowflake): Promise<StoredRole[]> {
    return this.all(`SELECT * FROM ${this.s}.roles WHERE guild_id = $1 ORDER BY position, id`, toRole, [big(guildId)]);
  }
  async deleteRole(guildId: Snowflake, roleId: Snowflake): Promise<boolean> {
    return this.run(`DELETE FROM ${this.s}.roles WHERE guild_id = $1 AND id = $2`, [big(guildId), big(roleId)]);
  }
  async upsertVoiceState(v: StoredVoiceState): Promise<void> {
    await this.run(
      `INSERT INTO ${this.s}.voice_states VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (guild_id, user_id)
       DO UPDATE SET channel_id = EXCLUDED.channel_id, session_id = EXCLUDED.session_id,
       self_mute = EXCLUDED.self_mute, self_deaf = EXCLUDED.self_deaf, mute = EXCLUDED.mute, deaf = EXCLUDED.deaf`,
      [big(v.guildId), big(v.userId), big(v.channelId), v.sessionId, v.selfMute, v.selfDeaf, v.mute, v.deaf],
    );
  }
  async deleteVoiceState(guildId: Snowflake, userId: Snowflake): Promise<boolean> {
    return this.run(`DELETE FROM ${this.s}.voice_states WHERE guild_id = $1 AND user_id = $2`, [
      big(guildId),
      big(userId),
    ]);
  }
  async listVoiceStates(guildId: Snowflake): Promise<StoredVoiceState[]> {
    return this.all(`SELECT * FROM ${this.s}.voice_states WHERE guild_id = $1 ORDER BY user_id`, toVoiceState, [
      big(guildId),
    ]);
  }

  async getReadState(userId: Snowflake, channelId: Snowflake): Promise<ReadState | null> {
    return this.one(`SELECT * FROM ${this.s}.read_states WHERE user_id = $1 AND channel_id = $2`, toReadState, [
      big(userId),
      big(channelId),
    ]);
  }
  async listReadStates(userId: Snowflake): Promise<ReadState[]> {
    return this.all(`SELECT * FROM ${this.s}.read_states WHERE user_id = $1 ORDER BY channel_id`, toReadState, [
      big(userId),
    ]);
  }
  async upsertReadStates(states: readonly ReadState[]): Promise<void> {
    if (states.length === 0) return;
    // One statement (so one implicit transaction) with the batch as parallel arrays: all rows commit or none do.
    // Duplicate keys in one batch would make ON CONFLICT touch a row twice; the last write per key wins here.
    const last = new Map<string, ReadState>();
    for (const r of states) last.set(`${r.userId}:${r.channelId}`, r);
    const rows = [...last.values()];
    await this.q(
      `INSERT INTO ${this.s}.read_states SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[])
       ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = EXCLUDED.last_message_id,
       mention_count = EXCLUDED.mention_count`,
      [
        `{${rows.map((r) => big(r.userId)).join(',')}}`,
        `{${rows.map((r) => big(r.channelId)).join(',')}}`,
        `{${rows.map((r) => big(r.lastMessageId)).join(',')}}`,
        `{${rows.map((r) => r.mentionCount).join(',')}}`,
      ],
    );
  }
}
