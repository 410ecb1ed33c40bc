/** Applications and application commands on SQLite (statements only; SqliteStorage owns the connection). */
import type Database from 'better-sqlite3';
import { idToBigInt } from './buckets.ts';
import { GLOBAL_GUILD, toApplication, toCommand } from './app-rows.ts';
import type { Row } from './entity-rows.ts';
import type { ApplicationStore, Snowflake, StoredApplication, StoredCommand } from './types.ts';

export const SQLITE_APP_DDL = `
CREATE TABLE IF NOT EXISTS applications (id INTEGER PRIMARY KEY, bot_user_id INTEGER NOT NULL UNIQUE,
  owner_id INTEGER NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, public_key TEXT NOT NULL,
  private_key TEXT NOT NULL, endpoint_url TEXT, flags INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS application_commands (application_id INTEGER NOT NULL, guild_id INTEGER NOT NULL,
  id INTEGER NOT NULL, name TEXT NOT NULL, type INTEGER NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (application_id, guild_id, id)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS application_commands_by_id ON application_commands (application_id, id);
`;

const gid = (guildId: Snowflake | null): bigint => idToBigInt(guildId ?? GLOBAL_GUILD);

export class SqliteApplications implements ApplicationStore {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly guard: <T>(fn: () => T) => Promise<T>,
    private readonly commit: <T>(fn: () => T) => Promise<T>,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      upsertApp: p('INSERT OR REPLACE INTO applications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      getApp: p('SELECT * FROM applications WHERE id = ?'),
      appByBot: p('SELECT * FROM applications WHERE bot_user_id = ?'),
      list: p('SELECT * FROM application_commands WHERE application_id = ? AND guild_id = ? ORDER BY id'),
      get: p('SELECT * FROM application_commands WHERE application_id = ? AND id = ?'),
      upsert: p('INSERT OR REPLACE INTO application_commands VALUES (?, ?, ?, ?, ?, ?, ?)'),
      delete: p('DELETE FROM application_commands WHERE application_id = ? AND id = ?'),
      clear: p('DELETE FROM application_commands WHERE application_id = ? AND guild_id = ?'),
    };
  }

  async upsertApplication(a: StoredApplication): Promise<void> {
    const args = [
      idToBigInt(a.id),
      idToBigInt(a.botUserId),
      idToBigInt(a.ownerId),
      a.name,
      a.description,
      a.publicKey,
      a.privateKey,
      a.interactionsEndpointUrl,
      a.flags,
    ];
    await this.commit(() => this.s.upsertApp.run(...args));
  }
  async getApplication(appId: Snowflake): Promise<StoredApplication | null> {
    return this.guard(() => {
      const r = this.s.getApp.get(idToBigInt(appId)) as Row | undefined;
      return r ? toApplication(r) : null;
    });
  }
  async getApplicationByBot(botUserId: Snowflake): Promise<StoredApplication | null> {
    return this.guard(() => {
      const r = this.s.appByBot.get(idToBigInt(botUserId)) as Row | undefined;
      return r ? toApplication(r) : null;
    });
  }
  async listCommands(appId: Snowflake, guildId: Snowflake | null): Promise<StoredCommand[]> {
    return this.guard(() => (this.s.list.all(idToBigInt(appId), gid(guildId)) as Row[]).map(toCommand));
  }
  async getCommand(appId: Snowflake, commandId: Snowflake): Promise<StoredCommand | null> {
    return this.guard(() => {
      const r = this.s.get.get(idToBigInt(appId), idToBigInt(commandId)) as Row | undefined;
      return r ? toCommand(r) : null;
    });
  }
  async upsertCommand(c: StoredCommand): Promise<void> {
    const args = this.commandArgs(c);
    await this.commit(() => this.s.upsert.run(...args));
  }
  async deleteCommand(appId: Snowflake, commandId: Snowflake): Promise<boolean> {
    const args = [idToBigInt(appId), idToBigInt(commandId)];
    return this.commit(() => this.s.delete.run(...args).changes > 0);
  }
  async replaceCommands(appId: Snowflake, guildId: Snowflake | null, commands: StoredCommand[]): Promise<void> {
    const rows = commands.map((c) => this.commandArgs(c));
    const app = idToBigInt(appId);
    const guild = gid(guildId);
    // One group-commit write: the clear and the inserts land in the same savepoint, all or nothing.
    await this.commit(() => {
      this.s.clear.run(app, guild);
      for (const r of rows) this.s.upsert.run(...r);
    });
  }

  private commandArgs(c: StoredCommand): unknown[] {
    return [
      idToBigInt(c.applicationId),
      gid(c.guildId),
      idToBigInt(c.id),
      c.name,
      c.type,
      idToBigInt(c.version),
      JSON.stringify(c.data),
    ];
  }
}
