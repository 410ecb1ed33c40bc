/**
 * The embedded default backend: one SQLite file under the data dir, WAL journal, prepared statements, one connection
 * (SQLite allows one writer; better-sqlite3 is synchronous, so statements from this process never interleave). Writes
 * of one event-loop turn share one transaction (sqlite-writer.ts, group commit).
 *
 * Durability: with `synchronous=FULL` (default) a commit fsyncs the WAL before the call returns, so an acknowledged
 * write survives a process crash and power loss; with `NORMAL` it survives a process crash (kill -9) but the last
 * commits may be lost on power loss (the WAL is fsynced at checkpoints only).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  type BucketReader,
  type Direction,
  type QueryCounters,
  bucketOf,
  idToBigInt,
  newCounters,
  walkHistory,
} from './buckets.ts';
import { applyPatch, completeMessage, messageDoc, rowToMessage, type MessageRow } from './rows.ts';
import { SQLITE_APP_DDL, SqliteApplications } from './sqlite-apps.ts';
import { SQLITE_ENTITY_DDL, SqliteEntities } from './sqlite-entities.ts';
import { GroupCommit } from './sqlite-writer.ts';
import {
  StorageUnavailableError,
  type HistoryQuery,
  type MessagePatch,
  type NewMessage,
  type Snowflake,
  type SqliteStorageConfig,
  type Storage,
  type StoredMessage,
} from './types.ts';

/** 2: applications and application commands (DDL is idempotent, so version 1 files just gain the tables). */
const SCHEMA_VERSION = 2;

const MESSAGE_DDL = `
CREATE TABLE IF NOT EXISTS messages (channel_id INTEGER NOT NULL, bucket INTEGER NOT NULL, message_id INTEGER NOT NULL,
  guild_id INTEGER, author_id INTEGER NOT NULL, content TEXT NOT NULL, edited_at INTEGER, data TEXT NOT NULL,
  PRIMARY KEY (channel_id, bucket, message_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_buckets (channel_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
  message_count INTEGER NOT NULL, PRIMARY KEY (channel_id, bucket)) WITHOUT ROWID;
`;

/** SQLite result codes that mean "the store cannot serve now" rather than "this request is wrong". */
const UNAVAILABLE = /^SQLITE_(IOERR|FULL|CANTOPEN|BUSY|LOCKED|READONLY|NOTADB|CORRUPT|PROTOCOL)/;

function unavailable(err: unknown): StorageUnavailableError | null {
  if (err instanceof StorageUnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE.test(code))
    return new StorageUnavailableError('sqlite', code, { cause: err });
  if (err instanceof TypeError && /database connection is not open/.test(err.message))
    return new StorageUnavailableError('sqlite', 'closed', { cause: err });
  return null;
}

async function guarded<T>(fn: () => T): Promise<T> {
  try {
    return fn();
  } catch (err) {
    throw unavailable(err) ?? err;
  }
}

type Bind = bigint | number | string | null;

export class SqliteStorage extends SqliteEntities implements Storage, BucketReader {
  readonly kind = 'sqlite' as const;
  readonly counters: QueryCounters = newCounters();
  readonly file: string;
  /** The group-commit writer (its commits/writes counters show the batching). */
  readonly writer: GroupCommit;
  readonly apps: SqliteApplications;
  private readonly m;
  private readonly bucketReads = new Map<string, Database.Statement>();
  private closed = false;

  /** Open (creating the directory, file and schema if missing). Throws StorageUnavailableError if it cannot. */
  static async open(config: SqliteStorageConfig): Promise<SqliteStorage> {
    const file = path.join(config.dataDir, config.fileName ?? 'storage.sqlite');
    try {
      fs.mkdirSync(config.dataDir, { recursive: true });
      const db = new Database(file);
      return new SqliteStorage(db, file, config.synchronous ?? 'full');
    } catch (err) {
      if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code))
        throw new StorageUnavailableError('sqlite', `${err.code} at ${file}`, { cause: err });
      throw unavailable(err) ?? err;
    }
  }

  private constructor(db: Database.Database, file: string, synchronous: 'full' | 'normal') {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    db.pragma('busy_timeout = 5000');
    // 64 MiB page cache (default 2 MiB): writes spread over many channels touch many B-tree pages per commit.
    db.pragma('cache_size = -65536');
    db.defaultSafeIntegers(true);
    if (Number(db.pragma('user_version', { simple: true })) < SCHEMA_VERSION) {
      db.exec(MESSAGE_DDL + SQLITE_ENTITY_DDL + SQLITE_APP_DDL);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    const writer = new GroupCommit(db, (err) => unavailable(err) ?? err);
    super(db, guarded, (fn) => writer.commit(fn));
    this.writer = writer;
    this.file = file;
    this.apps = new SqliteApplications(db, guarded, (fn) => writer.commit(fn));
    const p = (sql: string) => db.prepare(sql);
    this.m = {
      insert: p('INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      update: p(`UPDATE messages SET guild_id = ?, author_id = ?, content = ?, edited_at = ?, data = ?
        WHERE channel_id = ? AND bucket = ? AND message_id = ?`),
      get: p('SELECT * FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?'),
      delete: p('DELETE FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?'),
      bucketUp: p(`INSERT INTO channel_buckets VALUES (?, ?, 1)
        ON CONFLICT (channel_id, bucket) DO UPDATE SET message_count = message_count + 1`),
      bucketDown: p('UPDATE channel_buckets SET message_count = message_count - 1 WHERE channel_id = ? AND bucket = ?'),
      bucketDrop: p('DELETE FROM channel_buckets WHERE channel_id = ? AND bucket = ? AND message_count <= 0'),
      olderFrom: p('SELECT bucket FROM channel_buckets WHERE channel_id = ? AND bucket <= ? ORDER BY bucket DESC'),
      olderAll: p('SELECT bucket FROM channel_buckets WHERE channel_id = ? ORDER BY bucket DESC'),
      newerFrom: p('SELECT bucket FROM channel_buckets WHERE channel_id = ? AND bucket >= ? ORDER BY bucket ASC'),
      newerAll: p('SELECT bucket FROM channel_buckets WHERE channel_id = ? ORDER BY bucket ASC'),
    };
    for (const direction of ['older', 'newer'] as const) {
      for (const cmp of ['', '<', '<=', '>', '>=']) {
        const where = cmp === '' ? '' : ` AND message_id ${cmp} ?`;
        const order = direction === 'older' ? 'DESC' : 'ASC';
        const sql = `SELECT * FROM messages WHERE channel_id = ? AND bucket = ?${where} ORDER BY message_id ${order} LIMIT ?`;
        this.bucketReads.set(direction + cmp, p(sql));
      }
    }
  }

  async createMessage(input: NewMessage): Promise<StoredMessage> {
    const msg = completeMessage(input);
    const cid = idToBigInt(msg.channelId);
    const mid = idToBigInt(msg.id);
    const bucket = bucketOf(mid);
    const gid = msg.guildId === null ? null : idToBigInt(msg.guildId);
    const aid = idToBigInt(msg.authorId);
    const doc = JSON.stringify(messageDoc(msg));
    return this.commit(() => {
      if (this.m.insert.run(cid, bucket, mid, gid, aid, msg.content, null, doc).changes > 0)
        this.m.bucketUp.run(cid, bucket);
      else this.m.update.run(gid, aid, msg.content, null, doc, cid, bucket, mid);
      return msg;
    });
  }

  async editMessage(channelId: Snowflake, messageId: Snowflake, patch: MessagePatch): Promise<StoredMessage | null> {
    const key = this.key(channelId, messageId);
    return this.commit(() => {
      const row = this.m.get.get(...key) as MessageRow | undefined;
      if (row === undefined) return null;
      const next = applyPatch(rowToMessage(row), patch);
      const gid = next.guildId === null ? null : idToBigInt(next.guildId);
      const doc = JSON.stringify(messageDoc(next));
      this.m.update.run(gid, idToBigInt(next.authorId), next.content, next.editedAt, doc, ...key);
      return next;
    });
  }

  async deleteMessage(channelId: Snowflake, messageId: Snowflake): Promise<boolean> {
    const key = this.key(channelId, messageId);
    return this.commit(() => {
      if (this.m.delete.run(...key).changes === 0) return false;
      this.m.bucketDown.run(key[0], key[1]);
      this.m.bucketDrop.run(key[0], key[1]);
      return true;
    });
  }

  async getMessage(channelId: Snowflake, messageId: Snowflake): Promise<StoredMessage | null> {
    const key = this.key(channelId, messageId);
    return guarded(() => {
      this.counters.bucketReads++;
      const row = this.m.get.get(...key) as MessageRow | undefined;
      return row === undefined ? null : rowToMessage(row);
    });
  }

  async history(channelId: Snowflake, query: HistoryQuery): Promise<StoredMessage[]> {
    this.counters.historyQueries++;
    return walkHistory(this, channelId, query);
  }

  async buckets(channelId: bigint, direction: Direction, from: number | undefined): Promise<number[]> {
    return guarded(() => {
      this.counters.bucketIndexReads++;
      const stmt =
        direction === 'older'
          ? from === undefined
            ? this.m.olderAll
            : this.m.olderFrom
          : from === undefined
            ? this.m.newerAll
            : this.m.newerFrom;
      const args: Bind[] = from === undefined ? [channelId] : [channelId, from];
      return (stmt.pluck().all(...args) as bigint[]).map(Number);
    });
  }

  async readBucket(
    channelId: bigint,
    bucket: number,
    direction: Direction,
    cursor: bigint | undefined,
    inclusive: boolean,
    limit: number,
  ): Promise<StoredMessage[]> {
    return guarded(() => {
      this.counters.bucketReads++;
      const cmp = cursor === undefined ? '' : (direction === 'older' ? '<' : '>') + (inclusive ? '=' : '');
      const stmt = this.bucketReads.get(direction + cmp) as Database.Statement;
      const args: Bind[] = cursor === undefined ? [channelId, bucket, limit] : [channelId, bucket, cursor, limit];
      return (stmt.all(...args) as MessageRow[]).map(rowToMessage);
    });
  }

  /** Messages stored on this node (tests and the routing proof). */
  async messageCount(): Promise<number> {
    return guarded(() => Number(this.db.prepare('SELECT count(*) FROM messages').pluck().get()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writer.drain();
    this.db.close();
  }

  private key(channelId: Snowflake, messageId: Snowflake): [bigint, number, bigint] {
    const mid = idToBigInt(messageId);
    return [idToBigInt(channelId), bucketOf(mid), mid];
  }
}
