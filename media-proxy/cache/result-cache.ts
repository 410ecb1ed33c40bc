import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { TransformResult } from '../types.ts';
import { HotCache, hitOf, type CacheHit, type CachedMeta } from './hot-cache.ts';
import { RedisScript } from './redis-script.ts';
import { markHierarchyTop } from './spread-dirs.ts';

export type { CacheHit, CachedMeta };

/**
 * Transformed results on disk, indexed in Redis so several proxy processes share one budget (bytes and entries):
 *   <prefix>meta:<key>  hash   the result's metadata + `hits`
 *   <prefix>lru         zset   key → last access (ms); the lowest score is evicted first
 *   <prefix>bytes       string total bytes indexed
 * In front of both, a byte-bounded in-process LRU of hot results (`HotCache`) answers repeat requests from memory.
 * Eviction runs inside the Lua scripts so concurrent writers never double-count or evict the same entry twice, and
 * only when the index is over budget.
 */
const evictWhileOver = (lru: string, bytes: string, budget: string, maxEntries: string, metaPrefix: string) => `
local budget = tonumber(${budget})
local maxEntries = tonumber(${maxEntries})
local out = {}
local total = tonumber(redis.call('GET', ${bytes}) or '0')
while total > budget or redis.call('ZCARD', ${lru}) > maxEntries do
  local popped = redis.call('ZPOPMIN', ${lru})
  if #popped == 0 then break end
  local key = popped[1]
  local size = tonumber(redis.call('HGET', ${metaPrefix} .. key, 'size') or '0')
  redis.call('DEL', ${metaPrefix} .. key)
  total = redis.call('DECRBY', ${bytes}, size)
  out[#out + 1] = key
end
return out
`;

/** KEYS meta, lru, bytes; ARGV now, key, size, budget, maxEntries, metaPrefix, field/value pairs… → evicted keys. */
const PUT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 7))
  redis.call('INCRBY', KEYS[3], ARGV[3])
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
${evictWhileOver('KEYS[2]', 'KEYS[3]', 'ARGV[4]', 'ARGV[5]', 'ARGV[6]')}`;

/** KEYS lru, bytes; ARGV budget, maxEntries, metaPrefix → evicted keys. */
const EVICT = evictWhileOver('KEYS[1]', 'KEYS[2]', 'ARGV[1]', 'ARGV[2]', 'ARGV[3]');

/** KEYS meta, lru; ARGV now, key, hits → 1, or 0 when the entry is no longer indexed (never re-adds it). */
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'hits', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

export interface ResultCacheOptions {
  redis: Redis;
  dir: string;
  prefix: string;
  maxBytes: number;
  /** Entries kept at most, whatever their size: tiny variants must not grow the index without bound. */
  maxEntries?: number;
  /** Byte budget of the in-process LRU in front of disk and Redis; 0 turns it off. */
  hotMaxBytes?: number;
  /** A result served from memory tells the shared LRU at most this often (its hits are batched meanwhile). */
  touchIntervalMs?: number;
  onEvict?: (count: number) => void;
}

export class ResultCache {
  evictions = 0;
  /** Hits answered from process memory and from disk (for metrics and tests). */
  memoryHits = 0;
  diskHits = 0;
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly hot: HotCache;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly onEvict: (count: number) => void;
  private readonly putScript: RedisScript;
  private readonly evictScript: RedisScript;
  private readonly touchScript: RedisScript;
  /** True when the cache root carries ext4's hierarchy-top flag, so new shard directories are spread (see start). */
  shardsSpread = false;
  /** Temp-file names: unique per instance without a random draw per write. */
  private readonly tmpTag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  private tmpSeq = 0;

  constructor(o: ResultCacheOptions) {
    this.redis = o.redis;
    this.dir = o.dir;
    this.prefix = o.prefix;
    this.maxBytes = o.maxBytes;
    this.maxEntries = o.maxEntries ?? 2 ** 31;
    this.onEvict = o.onEvict ?? (() => {});
    this.hot = new HotCache(o.hotMaxBytes ?? 0, o.touchIntervalMs ?? 5000);
    this.putScript = new RedisScript(o.redis, PUT, 3);
    this.evictScript = new RedisScript(o.redis, EVICT, 2);
    this.touchScript = new RedisScript(o.redis, TOUCH, 2);
  }

  /**
   * Creates the 256 shard directories and loads the scripts, so a miss costs one write, one rename and one EVALSHA.
   * The root is marked as a hierarchy top first (`markHierarchyTop`), so shards made now land in different block
   * groups and a result file's create does not crawl past recently deleted inodes. Both are also recovered lazily (a wiped shard is re-created on ENOENT, a forgotten script on NOSCRIPT), so a cache
   * that could not start still works once its disk or Redis is back.
   */
  async start(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    this.shardsSpread = await markHierarchyTop(this.dir);
    const shards = Array.from({ length: 256 }, (_, i) => path.join(this.dir, i.toString(16).padStart(2, '0')));
    await Promise.all(shards.map((d) => fs.mkdir(d, { recursive: true })));
    await Promise.all([this.putScript.load(), this.evictScript.load(), this.touchScript.load()]);
  }

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), key);
  }

  private metaKey(key: string): string {
    return `${this.prefix}meta:${key}`;
  }

  /** The result when it is in process memory; synchronous, so a hot hit costs no promise and no I/O. */
  peek(key: string): CacheHit | undefined {
    const r = this.hot.get(key, Date.now());
    if (!r) return undefined;
    this.memoryHits++;
    if (r.due) this.touch(r.due.key, r.due.hits);
    return r.hit;
  }

  /**
   * From memory, else from disk through the index (the result then becomes hot). Without a file there is no result
   * whatever the index says (such an entry is re-rendered and re-written under the same accounting), so a miss asks
   * the disk (one access(2), ~5 µs) and not Redis (a round trip, ~0.1 ms of this process's CPU).
   */
  async get(key: string): Promise<CacheHit | undefined> {
    const hot = this.peek(key);
    if (hot) return hot;
    if (!existsSync(this.file(key))) return undefined;
    const h = await this.redis.hgetall(this.metaKey(key));
    if (!h.size) return undefined;
    const size = Number(h.size);
    const data = await this.readKnownSize(key, size);
    if (!data) {
      // The index outlived the file (disk wiped, another node's cache dir): forget the entry and re-render.
      await this.forget(key, size);
      return undefined;
    }
    this.touch(key, 1);
    this.diskHits++;
    const hit = hitOf(data, {
      format: h.format as CachedMeta['format'],
      contentType: h.contentType,
      width: Number(h.width),
      height: Number(h.height),
      frames: Number(h.frames),
      isAnimated: h.isAnimated === '1',
      toneMapped: h.toneMapped === '1',
    });
    this.hot.set(key, hit, Date.now());
    return hit;
  }

  /** One open and one read of the size the index recorded; a missing, short or longer file counts as absent. */
  private async readKnownSize(key: string, size: number): Promise<Buffer | undefined> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(this.file(key), 'r');
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.allocUnsafe(size + 1);
      const { bytesRead } = await fh.read(buf, 0, size + 1, 0);
      return bytesRead === size ? buf.subarray(0, size) : undefined;
    } catch {
      return undefined;
    } finally {
      await fh.close().catch(() => {});
    }
  }

  /**
   * Fire and forget: a lost touch only makes the entry look older to eviction. An entry the index no longer has
   * (another process evicted it) leaves memory too, so this process never answers for what the cache dropped.
   */
  private touch(key: string, hits: number): void {
    this.touchScript.run([this.metaKey(key), `${this.prefix}lru`, Date.now(), key, hits]).then(
      (alive) => {
        if (alive === 0) this.hot.delete(key);
      },
      () => {},
    );
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.exists(this.metaKey(key))) === 1;
  }

  async hits(key: string): Promise<number> {
    return Number((await this.redis.hget(this.metaKey(key), 'hits')) ?? 0);
  }

  /**
   * Writes the file, then indexes it (and evicts, when over budget) in one round trip, then keeps it hot. The write
   * starts on the next turn of the event loop, after the answer that produced the result has been written out.
   */
  async put(key: string, r: TransformResult): Promise<void> {
    if (r.data.length > this.maxBytes) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.writeFile(key, r.data);
    const now = Date.now();
    const gone = (await this.putScript.run([
      this.metaKey(key),
      `${this.prefix}lru`,
      `${this.prefix}bytes`,
      now,
      key,
      r.data.length,
      this.maxBytes,
      this.maxEntries,
      `${this.prefix}meta:`,
      'format',
      r.format,
      'contentType',
      r.contentType,
      'width',
      r.width,
      'height',
      r.height,
      'frames',
      r.frames,
      'isAnimated',
      r.isAnimated ? 1 : 0,
      'toneMapped',
      r.toneMapped ? 1 : 0,
      'size',
      r.data.length,
      'hits',
      0,
    ])) as string[];
    this.hot.set(key, hitOf(r.data, r), now);
    await this.dropFiles(gone);
  }

  /**
   * Synchronous on purpose: open + write + close + rename of a result (16–450 KB, into the page cache) cost 60–425 µs
   * of CPU here, and ~100–300 µs more as four thread-pool round trips with their promises — per cache miss. The event
   * loop waits that long once per miss, after the answer has gone out.
   */
  private writeFile(key: string, data: Buffer): void {
    const file = this.file(key);
    const tmp = `${file}.${this.tmpTag}.${this.tmpSeq++}.tmp`;
    try {
      writeFileSync(tmp, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(tmp, data);
    }
    renameSync(tmp, file);
  }

  async totalBytes(): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}bytes`)) ?? 0);
  }

  async entries(): Promise<number> {
    return this.redis.zcard(`${this.prefix}lru`);
  }

  /** Evicts until the index is within budget (`put` already does this; for a lowered budget or tests). */
  async evict(): Promise<string[]> {
    const gone = (await this.evictScript.run([
      `${this.prefix}lru`,
      `${this.prefix}bytes`,
      this.maxBytes,
      this.maxEntries,
      `${this.prefix}meta:`,
    ])) as string[];
    await this.dropFiles(gone);
    return gone;
  }

  private async dropFiles(gone: string[]): Promise<void> {
    if (!gone.length) return;
    for (const key of gone) {
      this.hot.delete(key);
      await fs.rm(this.file(key), { force: true });
    }
    this.evictions += gone.length;
    this.onEvict(gone.length);
  }

  private async forget(key: string, size: number): Promise<void> {
    this.hot.delete(key);
    const removed = await this.redis.multi().del(this.metaKey(key)).zrem(`${this.prefix}lru`, key).exec();
    if (removed?.[0]?.[1] === 1) await this.redis.decrby(`${this.prefix}bytes`, size);
  }
}
