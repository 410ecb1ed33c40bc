import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Discord's REST rate limits, with their state in Redis so every API node of a fleet shares it:
 * - per-route buckets (a limit per window) scoped by the route's major parameter (channel, guild or webhook id) and
 *   the caller, exactly how @discordjs/rest keys its local queues;
 * - the global limit per bot (50 requests/s by default);
 * - the invalid-request limiter: too many 401/403/429 answers to one IP in the window bans that IP (429, scope
 *   `shared`) until the window ends — Discord's Cloudflare ban, without the Cloudflare.
 * Each check is ONE Lua script (loaded once, run by EVALSHA through ioredis' defineCommand), so a request costs one
 * round trip and concurrent requests on several nodes can never both take the last slot.
 */
export interface BucketLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimitOptions {
  redis: Redis;
  /** Key namespace, so several deployments or test runs share one Redis. */
  prefix: string;
  globalPerSecond: number;
  invalidMax: number;
  invalidWindowMs: number;
  defaultBucket: BucketLimit;
  /** Overrides by route key `METHOD /path/with/:id` (e.g. `POST /channels/:id/messages`). */
  routes: Record<string, BucketLimit>;
}

export type LimitScope = 'user' | 'global' | 'shared';

export interface RateDecision {
  allowed: boolean;
  /** Set when refused: which limit. */
  scope?: LimitScope;
  /** Bucket facts for the X-RateLimit-* headers (absent for the shared ban, like Cloudflare's). */
  bucket?: { hash: string; limit: number; remaining: number; resetAfterMs: number };
  /** Refusals only: how long to wait. */
  retryAfterMs?: number;
}

const CHECK = `
local inv = tonumber(redis.call('GET', KEYS[1]) or '0')
if inv >= tonumber(ARGV[1]) then
  local t = redis.call('PTTL', KEYS[1])
  if t < 0 then t = tonumber(ARGV[6]) end
  return {3, 0, 0, t}
end
local rl = tonumber(ARGV[4])
local r = tonumber(redis.call('GET', KEYS[3]) or '0')
if r >= rl then
  local t = redis.call('PTTL', KEYS[3])
  if t < 0 then t = tonumber(ARGV[5]) end
  return {1, rl, 0, t}
end
local g = tonumber(redis.call('GET', KEYS[2]) or '0')
if g >= tonumber(ARGV[2]) then
  local t = redis.call('PTTL', KEYS[2])
  if t < 0 then t = tonumber(ARGV[3]) end
  return {2, rl, rl - r, t}
end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
r = redis.call('INCR', KEYS[3])
if r == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
local t = redis.call('PTTL', KEYS[3])
if t < 0 then t = tonumber(ARGV[5]) end
return {0, rl, rl - r, t}
`;

const RECORD_INVALID = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

type RateRedis = Redis & {
  resoundRlCheck(
    invalidKey: string,
    globalKey: string,
    routeKey: string,
    ...args: Array<string | number>
  ): Promise<[number, number, number, number]>;
  resoundRlInvalid(key: string, windowMs: number): Promise<number>;
};

/** Discord-style bucket hash: opaque, stable per route template (not per major parameter). */
export function bucketHash(route: string): string {
  return createHash('sha1').update(route).digest('hex').slice(0, 16);
}

export class RateLimiter {
  private readonly redis: RateRedis;
  private readonly hashes = new Map<string, string>();

  constructor(private readonly opts: RateLimitOptions) {
    const r = opts.redis as RateRedis;
    if (typeof r.resoundRlCheck !== 'function') {
      r.defineCommand('resoundRlCheck', { numberOfKeys: 3, lua: CHECK });
      r.defineCommand('resoundRlInvalid', { numberOfKeys: 1, lua: RECORD_INVALID });
    }
    this.redis = r;
  }

  /** The limit a route key gets. */
  limitFor(route: string): BucketLimit {
    return this.opts.routes[route] ?? this.opts.defaultBucket;
  }

  /**
   * One request by `caller` (bot user id, or `ip:<addr>` before auth) from `ip` on `route` with `major` (the
   * channel/guild id, or '' when the route has none).
   */
  async check(caller: string, ip: string, route: string, major: string): Promise<RateDecision> {
    const p = this.opts.prefix;
    const lim = this.limitFor(route);
    let hash = this.hashes.get(route);
    if (!hash) this.hashes.set(route, (hash = bucketHash(route)));
    const [code, limit, remaining, ttl] = await this.redis.resoundRlCheck(
      `${p}invalid:${ip}`,
      `${p}global:${caller}`,
      `${p}bucket:${caller}:${hash}:${major}`,
      this.opts.invalidMax,
      this.opts.globalPerSecond,
      1000,
      lim.limit,
      lim.windowMs,
      this.opts.invalidWindowMs,
    );
    if (code === 3) return { allowed: false, scope: 'shared', retryAfterMs: ttl };
    const bucket = { hash, limit, remaining: Math.max(0, remaining), resetAfterMs: ttl };
    if (code === 0) return { allowed: true, bucket };
    return { allowed: false, scope: code === 2 ? 'global' : 'user', bucket, retryAfterMs: ttl };
  }

  /** Counts a 401/403/429 answer against `ip`; returns the count in the current window. */
  recordInvalid(ip: string): Promise<number> {
    return this.redis.resoundRlInvalid(`${this.opts.prefix}invalid:${ip}`, this.opts.invalidWindowMs);
  }
}

/**
 * The headers Discord sends (and @discordjs/rest reads: Limit, Remaining, Reset-After, Bucket, Scope, Global,
 * Retry-After; Reset is epoch seconds for other clients). Seconds are floats with millisecond precision.
 */
export function rateLimitHeaders(d: RateDecision, nowMs = Date.now()): Record<string, string> {
  const h: Record<string, string> = {};
  if (d.bucket && d.scope !== 'shared') {
    h['x-ratelimit-limit'] = String(d.bucket.limit);
    h['x-ratelimit-remaining'] = String(d.bucket.remaining);
    h['x-ratelimit-reset'] = ((nowMs + d.bucket.resetAfterMs) / 1000).toFixed(3);
    h['x-ratelimit-reset-after'] = (d.bucket.resetAfterMs / 1000).toFixed(3);
    h['x-ratelimit-bucket'] = d.bucket.hash;
  }
  if (!d.allowed) {
    h['retry-after'] = ((d.retryAfterMs ?? 1000) / 1000).toFixed(3);
    h['x-ratelimit-scope'] = d.scope ?? 'user';
    if (d.scope === 'global') h['x-ratelimit-global'] = 'true';
  }
  return h;
}
