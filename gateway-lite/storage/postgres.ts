/**
 * PostgreSQL backend (`pg` pool, DATABASE_URL). Messages and the per-channel bucket index are hash-partitioned by
 * channel_id (postgres-schema.ts); each message write is one statement, so it commits (or not) atomically with its
 * bucket-index update.
 *
 * Durability: every connection runs with `synchronous_commit = on`, so a statement resolves only after its commit
 * record is flushed to the server's WAL (and, with synchronous standbys configured, to them): an acknowledged write
 * survives a server crash as long as the server runs with `fsync = on` (PostgreSQL's default).
 */
import pg from 'pg';
import {
  type BucketReader,
  type Direction,
  type QueryCounters,
  bucketOf,
  idToBigInt,
  newCounters,
  walkHistory,
} from './buckets.ts';
import { PostgresApplications } from './postgres-apps.ts';
import { PostgresEntities, type Param, type Query } from './postgres-entities.ts';
import { SCHEMA_NAME, migrate } from './postgres-schema.ts';
import { applyPatch, completeMessage, messageDoc, rowToMessage, type MessageRow } from './rows.ts';
import type { Row } from './entity-rows.ts';
import {
  StorageUnavailableError,
  type HistoryQuery,
  type MessagePatch,
  type NewMessage,
  type PostgresStorageConfig,
  type Snowflake,
  type Storage,
  type StoredMessage,
} from './types.ts';

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** SQLSTATE classes/codes meaning the server cannot serve now: 08 connection, 57P0x shutdown, 53 resources. */
const SQLSTATE_UNAVAILABLE = /^(08|53|57P0)/;
const MESSAGE_UNAVAILABLE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error|Cannot use a pool after calling end|Client was closed/i;

export function pgUnavailable(err: unknown): StorageUnavailableError | null {
  if (err instanceof StorageUnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && (NET_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code)))
    return new StorageUnavailableError('postgres', `${code} ${message}`, { cause: err });
  if (MESSAGE_UNAVAILABLE.test(message)) return new StorageUnavailableError('postgres', message, { cause: err });
  if (err instanceof AggregateError && err.errors.some((e) => pgUnavailable(e) !== null))
    return new StorageUnavailableError('postgres', message || 'connection failed', { cause: err });
  return null;
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw pgUnavailable(err) ?? err;
  }
}

function track<T>(set: Set<Promise<unknown>>, p: Promise<T>): Promise<T> {
  set.add(p);
  p.then(
    () => set.delete(p),
    () => set.delete(p),
  );
  return p;
}

const CMP: Record<string, string> = { older: '<', newer: '>' };

export class PostgresStorage extends PostgresEntities implements Storage, BucketReader {
  readonly kind = 'postgres' as const;
  readonly counters: QueryCounters = newCounters();
  readonly apps: PostgresApplications;
  private readonly inflight: Set<Promise<unknown>>;
  private closed = false;

  /** Connect, create the schema if missing. Throws StorageUnavailableError if the server cannot be reached. */
  static async open(config: PostgresStorageConfig): Promise<PostgresStorage> {
    const schema = config.schema ?? 'resound';
    if (!SCHEMA_NAME.test(schema)) throw new RangeError(`invalid schema name ${schema}`);
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.poolSize ?? 10,
      connectionTimeoutMillis: 3000,
      query_timeout: 15_000,
      options: '-c synchronous_commit=on',
    });
    // An idle client losing its server emits here; the next query reports it as StorageUnavailableError.
    pool.on('error', () => undefined);
    try {
      await guarded(async () => {
        const client = await pool.connect();
        try {
          await migrate(client, schema, config.messagePartitions ?? 16);
        } finally {
          client.release();
        }
      });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return new PostgresStorage(pool, schema);
  }

  private constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    // Operations in flight, so close() lets them finish instead of ending the pool under them.
    const inflight = new Set<Promise<unknown>>();
    const q: Query = (sql: string, params: Param[]) =>
      track(
        inflight,
        guarded(async () => {
          const r = await pool.query<Row>(sql, params);
          return { rows: r.rows, rowCount: r.rowCount ?? 0 };
        }),
      );
    super(q, schema);
    this.inflight = inflight;
    this.apps = new PostgresApplications(q, schema);
  }

  async createMessage(input: NewMessage): Promise<StoredMessage> {
    const m = completeMessage(input);
    const mid = idToBigInt(m.id);
    const s = this.s;
    // One statement: insert-if-absent, bump the bucket index only when inserted, otherwise overwrite (idempotent retry).
    await this.q(
      `WITH ins AS (INSERT INTO ${s}.messages VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
         ON CONFLICT (channel_id, bucket, message_id) DO NOTHING RETURNING channel_id, bucket),
       idx AS (INSERT INTO ${s}.channel_buckets SELECT channel_id, bucket, 1 FROM ins
         ON CONFLICT (channel_id, bucket) DO UPDATE SET message_count = ${s}.channel_buckets.message_count + 1),
       upd AS (UPDATE ${s}.messages SET guild_id = $4, author_id = $5, content = $6, edited_at = NULL, data = $7
         WHERE channel_id = $1 AND bucket = $2 AND message_id = $3 AND NOT EXISTS (SELECT 1 FROM ins))
       SELECT 1`,
      [
        idToBigInt(m.channelId).toString(),
        bucketOf(mid),
        mid.toString(),
        m.guildId === null ? null : idToBigInt(m.guildId).toString(),
        idToBigInt(m.authorId).toString(),
        m.content,
        JSON.stringify(messageDoc(m)),
      ],
    );
    return m;
  }

  async editMessage(channelId: Snowflake, messageId: Snowflake, patch: MessagePatch): Promise<StoredMessage | null> {
    const key = this.key(channelId, messageId);
    return track(this.inflight, this.editInTransaction(key, patch));
  }

  private editInTransaction(key: [string, number, string], patch: MessagePatch): Promise<StoredMessage | null> {
    return guarded(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<MessageRow>(
          `SELECT * FROM ${this.s}.messages WHERE channel_id = $1 AND bucket = $2 AND message_id = $3 FOR UPDATE`,
          key,
        );
        if (rows.length === 0) {
          await client.query('ROLLBACK');
          return null;
        }
        const next = applyPatch(rowToMessage(rows[0]), patch);
        await client.query(
          `UPDATE ${this.s}.messages SET content = $4, edited_at = $5, data = $6
           WHERE channel_id = $1 AND bucket = $2 AND message_id = $3`,
          [...key, next.content, next.editedAt, JSON.stringify(messageDoc(next))],
        );
        await client.query('COMMIT');
        return next;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    });
  }

  async deleteMessage(channelId: Snowflake, messageId: Snowflake): Promise<boolean> {
    const key = this.key(channelId, messageId);
    const s = this.s;
    const { rows } = await this.q(
      `WITH del AS (DELETE FROM ${s}.messages WHERE channel_id = $1 AND bucket = $2 AND message_id = $3
         RETURNING channel_id, bucket),
       dn AS (UPDATE ${s}.channel_buckets b SET message_count = b.message_count - 1 FROM del
         WHERE b.channel_id = del.channel_id AND b.bucket = del.bucket RETURNING b.message_count)
       SELECT (SELECT count(*) FROM del)::int AS deleted, (SELECT message_count FROM dn) AS remaining`,
      key,
    );
    if (Number(rows[0].deleted) === 0) return false;
    // Dropping an emptied bucket is conditional, so an insert that refilled it in between keeps it listed.
    if (Number(rows[0].remaining) <= 0)
      await this.q(
        `DELETE FROM ${s}.channel_buckets WHERE channel_id = $1 AND bucket = $2 AND message_count <= 0`,
        key.slice(0, 2),
      );
    return true;
  }

  async getMessage(channelId: Snowflake, messageId: Snowflake): Promise<StoredMessage | null> {
    this.counters.bucketReads++;
    const { rows } = await this.q(
      `SELECT * FROM ${this.s}.messages WHERE channel_id = $1 AND bucket = $2 AND message_id = $3`,
      this.key(channelId, messageId),
    );
    return rows.length === 0 ? null : rowToMessage(rows[0] as unknown as MessageRow);
  }

  async history(channelId: Snowflake, query: HistoryQuery): Promise<StoredMessage[]> {
    this.counters.historyQueries++;
    return walkHistory(this, channelId, query);
  }

  async buckets(channelId: bigint, direction: Direction, from: number | undefined): Promise<number[]> {
    this.counters.bucketIndexReads++;
    const older = direction === 'older';
    const where = from === undefined ? '' : ` AND bucket ${older ? '<=' : '>='} $2`;
    const params: Param[] = from === undefined ? [channelId.toString()] : [channelId.toString(), from];
    const { rows } = await this.q(
      `SELECT bucket FROM ${this.s}.channel_buckets WHERE channel_id = $1${where} ORDER BY bucket ${older ? 'DESC' : 'ASC'}`,
      params,
    );
    return rows.map((r) => Number(r.bucket));
  }

  async readBucket(
    channelId: bigint,
    bucket: number,
    direction: Direction,
    cursor: bigint | undefined,
    inclusive: boolean,
    limit: number,
  ): Promise<StoredMessage[]> {
    this.counters.bucketReads++;
    const params: Param[] = [channelId.toString(), bucket, limit];
    let where = '';
    if (cursor !== undefined) {
      where = ` AND message_id ${CMP[direction]}${inclusive ? '=' : ''} $4`;
      params.push(cursor.toString());
    }
    const { rows } = await this.q(
      `SELECT * FROM ${this.s}.messages WHERE channel_id = $1 AND bucket = $2${where}
       ORDER BY message_id ${direction === 'older' ? 'DESC' : 'ASC'} LIMIT $3`,
      params,
    );
    return rows.map((r) => rowToMessage(r as unknown as MessageRow));
  }

  /** Messages stored under this schema (tests). */
  async messageCount(): Promise<number> {
    const { rows } = await this.q(`SELECT count(*)::int AS n FROM ${this.s}.messages`, []);
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    await this.pool.end();
  }

  private key(channelId: Snowflake, messageId: Snowflake): [string, number, string] {
    const mid = idToBigInt(messageId);
    return [idToBigInt(channelId).toString(), bucketOf(mid), mid.toString()];
  }
}
