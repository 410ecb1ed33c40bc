/** Applications and application commands on PostgreSQL (queries only; PostgresStorage owns the pool). */
import { idToBigInt } from './buckets.ts';
import { GLOBAL_GUILD, toApplication, toCommand } from './app-rows.ts';
import type { Param, Query } from './postgres-entities.ts';
import type { ApplicationStore, Snowflake, StoredApplication, StoredCommand } from './types.ts';

const big = (v: Snowflake): string => idToBigInt(v).toString();
const gid = (guildId: Snowflake | null): string => big(guildId ?? GLOBAL_GUILD);

export class PostgresApplications implements ApplicationStore {
  constructor(
    private readonly q: Query,
    private readonly s: string,
  ) {}

  async upsertApplication(a: StoredApplication): Promise<void> {
    await this.q(
      `INSERT INTO ${this.s}.applications VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET
       bot_user_id = EXCLUDED.bot_user_id, owner_id = EXCLUDED.owner_id, name = EXCLUDED.name,
       description = EXCLUDED.description, public_key = EXCLUDED.public_key, private_key = EXCLUDED.private_key,
       endpoint_url = EXCLUDED.endpoint_url, flags = EXCLUDED.flags`,
      [
        big(a.id),
        big(a.botUserId),
        big(a.ownerId),
        a.name,
        a.description,
        a.publicKey,
        a.privateKey,
        a.interactionsEndpointUrl,
        a.flags,
      ],
    );
  }
  async getApplication(appId: Snowflake): Promise<StoredApplication | null> {
    const { rows } = await this.q(`SELECT * FROM ${this.s}.applications WHERE id = $1`, [big(appId)]);
    return rows.length ? toApplication(rows[0]) : null;
  }
  async getApplicationByBot(botUserId: Snowflake): Promise<StoredApplication | null> {
    const { rows } = await this.q(`SELECT * FROM ${this.s}.applications WHERE bot_user_id = $1`, [big(botUserId)]);
    return rows.length ? toApplication(rows[0]) : null;
  }
  async listCommands(appId: Snowflake, guildId: Snowflake | null): Promise<StoredCommand[]> {
    const { rows } = await this.q(
      `SELECT * FROM ${this.s}.application_commands WHERE application_id = $1 AND guild_id = $2 ORDER BY id`,
      [big(appId), gid(guildId)],
    );
    return rows.map(toCommand);
  }
  async getCommand(appId: Snowflake, commandId: Snowflake): Promise<StoredCommand | null> {
    const { rows } = await this.q(
      `SELECT * FROM ${this.s}.application_commands WHERE application_id = $1 AND id = $2`,
      [big(appId), big(commandId)],
    );
    return rows.length ? toCommand(rows[0]) : null;
  }
  async upsertCommand(c: StoredCommand): Promise<void> {
    await this.q(
      `INSERT INTO ${this.s}.application_commands VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (application_id, guild_id, id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type,
       version = EXCLUDED.version, data = EXCLUDED.data`,
      this.args(c),
    );
  }
  async deleteCommand(appId: Snowflake, commandId: Snowflake): Promise<boolean> {
    const r = await this.q(`DELETE FROM ${this.s}.application_commands WHERE application_id = $1 AND id = $2`, [
      big(appId),
      big(commandId),
    ]);
    return r.rowCount > 0;
  }
  async replaceCommands(appId: Snowflake, guildId: Snowflake | null, commands: StoredCommand[]): Promise<void> {
    // One statement (one implicit transaction): upsert the new set, delete the scope's other commands. The DELETE
    // sees the snapshot from before the upsert, so it never touches a row the upsert wrote.
    const rows = commands.map((c) => this.args(c));
    const col = (i: number) => rows.map((r) => r[i]);
    await this.q(
      `WITH up AS (INSERT INTO ${this.s}.application_commands
         SELECT $1::bigint, $2::bigint, t.id, t.name, t.type, t.version, t.data
         FROM unnest($3::bigint[], $4::text[], $5::int[], $6::bigint[], $7::jsonb[]) AS t(id, name, type, version, data)
         ON CONFLICT (application_id, guild_id, id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type,
         version = EXCLUDED.version, data = EXCLUDED.data)
       DELETE FROM ${this.s}.application_commands WHERE application_id = $1 AND guild_id = $2 AND id <> ALL($3::bigint[])`,
      [big(appId), gid(guildId), col(2), col(3), col(4), col(5), col(6)] as unknown as Param[],
    );
  }

  private args(c: StoredCommand): Param[] {
    return [big(c.applicationId), gid(c.guildId), big(c.id), c.name, c.type, big(c.version), JSON.stringify(c.data)];
  }
}
