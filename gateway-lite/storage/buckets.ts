/**
 * Discord's message partitioning: a channel's messages are split into static 10-day buckets of the snowflake's
 * timestamp (ms since the Discord epoch), and a history page walks buckets newest→oldest (or oldest→newest for
 * `after`), reading only the buckets the per-channel bucket index lists as non-empty. Both backends share this walk,
 * so the paging rules (and their tests) are written once.
 */
import type { HistoryQuery, Snowflake, StoredMessage } from './types.ts';

/** 10 days in ms: 864,000,000. */
export const BUCKET_MS = 1000 * 60 * 60 * 24 * 10;
const BUCKET_MS_BIG = BigInt(BUCKET_MS);
const MAX_SIGNED_64 = (1n << 63n) - 1n;

/** The snowflake as a signed 64-bit integer both SQLite INTEGER and PostgreSQL bigint can hold. */
export function idToBigInt(id: Snowflake): bigint {
  const v = BigInt(id);
  if (v < 0n || v > MAX_SIGNED_64) throw new RangeError(`snowflake ${id} does not fit a signed 64-bit column`);
  return v;
}

/** Bucket of a snowflake: (id >> 22) / 10 days, floored. A message exactly on an edge opens the newer bucket. */
export function bucketOf(id: Snowflake | bigint): number {
  const v = typeof id === 'bigint' ? id : BigInt(id);
  return Number((v >> 22n) / BUCKET_MS_BIG);
}

/** The smallest snowflake whose timestamp is `msSinceEpoch` (worker/process/increment zero). */
export function snowflakeAt(msSinceEpoch: number): bigint {
  return BigInt(msSinceEpoch) << 22n;
}

/** Order of a bucket scan. */
export type Direction = 'older' | 'newer';

/**
 * What a backend provides to the walk: the bucket index and a read of one (channel, bucket) partition. Both are
 * counted by the backends (`bucketIndexReads`, `bucketReads`) so tests can prove empty buckets are never read.
 */
export interface BucketReader {
  /** Non-empty buckets of the channel from `from` (inclusive) in scan order; `from` undefined = from the end. */
  buckets(channelId: bigint, direction: Direction, from: number | undefined): Promise<number[]>;
  /**
   * Up to `limit` messages of one partition, strictly older/newer than `cursor` (or from the end when undefined),
   * in scan order (older → id DESC, newer → id ASC). `inclusive` admits the cursor itself (for `around`).
   */
  readBucket(
    channelId: bigint,
    bucket: number,
    direction: Direction,
    cursor: bigint | undefined,
    inclusive: boolean,
    limit: number,
  ): Promise<StoredMessage[]>;
}

async function scan(
  reader: BucketReader,
  channelId: bigint,
  direction: Direction,
  cursor: bigint | undefined,
  inclusive: boolean,
  limit: number,
): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  if (limit <= 0) return out;
  const from = cursor === undefined ? undefined : bucketOf(cursor);
  for (const bucket of await reader.buckets(channelId, direction, from)) {
    const rows = await reader.readBucket(channelId, bucket, direction, cursor, inclusive, limit - out.length);
    for (const r of rows) out.push(r);
    if (out.length >= limit) break;
  }
  return out;
}

/** One history page, newest first, following Discord's semantics for the four query modes (see MessageStore). */
export async function walkHistory(
  reader: BucketReader,
  channelId: Snowflake,
  query: HistoryQuery,
): Promise<StoredMessage[]> {
  const modes =
    Number(query.before !== undefined) + Number(query.after !== undefined) + Number(query.around !== undefined);
  if (modes > 1) throw new RangeError('history: before, after and around are mutually exclusive');
  if (!Number.isInteger(query.limit) || query.limit < 1)
    throw new RangeError('history: limit must be a positive integer');
  const channel = idToBigInt(channelId);
  if (query.after !== undefined) {
    const newer = await scan(reader, channel, 'newer', idToBigInt(query.after), false, query.limit);
    return newer.reverse();
  }
  if (query.around !== undefined) {
    const pivot = idToBigInt(query.around);
    const olderWanted = Math.floor(query.limit / 2);
    const newer = await scan(reader, channel, 'newer', pivot, true, query.limit - olderWanted);
    const older = await scan(reader, channel, 'older', pivot, false, olderWanted);
    return newer.reverse().concat(older);
  }
  const before = query.before === undefined ? undefined : idToBigInt(query.before);
  return scan(reader, channel, 'older', before, false, query.limit);
}

/** Query counters every backend keeps, so tests and benches can prove what was (not) read. */
export interface QueryCounters {
  /** Reads of one (channel, bucket) partition. */
  bucketReads: number;
  /** Reads of a channel's bucket index. */
  bucketIndexReads: number;
  /** history() calls that reached the backend. */
  historyQueries: number;
}

export function newCounters(): QueryCounters {
  return { bucketReads: 0, bucketIndexReads: 0, historyQueries: 0 };
}
