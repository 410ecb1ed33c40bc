import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { OutputFormat, TransformResult } from '../types.ts';

/** What the index keeps beside a cached result: the transform's facts without its bytes, plus their size. */
export type CachedMeta = Omit<TransformResult, 'data'> & { size: number };

export interface CacheHit {
  data: Buffer;
  meta: CachedMeta;
}

/**
 * Transformed results on disk, indexed in Redis so several proxy processes share one budget (bytes and entries):
 *   <prefix>meta:<key>  hash   the result's metadata + `hits`
 *   <prefix>lru         zset   key → last access (ms); the lowest score is evicted first
 *   <prefix>bytes       string total bytes indexed
 * Eviction runs in one Lua script so concurrent writers never double-count or evict the same entry twice.
 */
const EVICT = `
local budget = tonumber(ARGV[1])
local maxEntries = tonumber(ARGV[3])
local out = {}
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
while total > budget or redis.call('ZCARD', KEYS[1]) > maxEntries do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  local key = popped[1]
  local size = tonumber(redis.call('HGET', ARGV[2] .. key, 'size') or '0')
  redis.call('DEL', ARGV[2] .. key)
  total = redis.call('DECRBY', KEYS[2], size)
  out[#out + 1] = key
end
return out
`;

const PUT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('INCRBY', KEYS[3], ARGV[3])
return 1
`;

export class ResultCache {
  evictions = 0;
  /** Shard directories known to exist (at most 256), so a write costs no mkdir. */
  private readonly dirs = new Set<string>();
  constructor(
    private readonly redis: Redis,
    readonly dir: string,
    private readonly prefix: string,
    readonly maxBytes: number,
    private readonly onEvict: (count: number) => void = () => {},
    /** Entries kept at most, whatever their size: tiny variants must not grow the index without bound. */
    readonly maxEntries = 2 ** 31,
  ) {}

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), key);
  }

  private metaKey(key: string): string {
    return `${this.prefix}meta:${key}`;
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const h = await this.redis.hgetall(this.metaKey(key));
    if (!h.size) return undefined;
    let data: Buffer;
    try {
      data = await fs.readFile(this.file(key));
    } catch {
      // The index outlived the file (disk wiped, another node's cache dir): forget the entry and re-render.
      await this.forget(key, Number(h.size));
      return undefined;
    }
    await this.redis.multi().hincrby(this.metaKey(key), 'hits', 1).zadd(`${this.prefix}lru`, Date.now(), key).exec();
    return {
      data,
      meta: {
        format: h.format as OutputFormat,
        contentType: h.contentType,
        width: Number(h.width),
        height: Number(h.height),
        frames: Number(h.frames),
        isAnimated: h.isAnimated === '1',
        toneMapped: h.toneMapped === '1',
        size: Number(h.size),
      },
    };
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.exists(this.metaKey(key))) === 1;
  }

  async hits(key: string): Promise<number> {
    return Number((await this.redis.hget(this.metaKey(key), 'hits')) ?? 0);
  }

  async put(key: string, r: TransformResult): Promise<void> {
    if (r.data.length > this.maxBytes) return;
    const file = this.file(key);
    const dir = path.dirname(file);
    if (!this.dirs.has(dir)) {
      await fs.mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, r.data);
    await fs.rename(tmp, file);
    const fields = [
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
    ];
    fields.push(
      'isAnimated',
      r.isAnimated ? 1 : 0,
      'toneMapped',
      r.toneMapped ? 1 : 0,
      'size',
      r.data.length,
      'hits',
      0,
    );
    await this.redis.eval(
      PUT,
      3,
      this.metaKey(key),
      `${this.prefix}lru`,
      `${this.prefix}bytes`,
      Date.now(),
      key,
      r.data.length,
      ...fields.map(String),
    );
    await this.evict();
  }

  async totalBytes(): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}bytes`)) ?? 0);
  }

  async entries(): Promise<number> {
    return this.redis.zcard(`${this.prefix}lru`);
  }

  async evict(): Promise<string[]> {
    const gone = (await this.redis.eval(
      EVICT,
      2,
      `${this.prefix}lru`,
      `${this.prefix}bytes`,
      this.maxBytes,
      `${this.prefix}meta:`,
      this.maxEntries,
    )) as string[];
    for (const key of gone) await fs.rm(this.file(key), { force: true });
    this.evictions += gone.length;
    if (gone.length) this.onEvict(gone.length);
    return gone;
  }

  private async forget(key: string, size: number): Promise<void> {
    const removed = await this.redis.multi().del(this.metaKey(key)).zrem(`${this.prefix}lru`, key).exec();
    if (removed?.[0]?.[1] === 1) await this.redis.decrby(`${this.prefix}bytes`, size);
  }
}
