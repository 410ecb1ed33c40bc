import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../common/redis.ts';
import { RateLimiter, rateLimitHeaders } from '../../gateway-lite/rest/rate-limit.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let redis: Redis;
const prefix = `resound:test:gl-rl:${randomBytes(4).toString('hex')}:`;

beforeAll(() => {
  redis = createRedis(REDIS_URL);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

type Opts = ConstructorParameters<typeof RateLimiter>[0];

function options(over: Partial<Opts> = {}): Opts {
  return {
    redis,
    prefix: `${prefix}${randomBytes(3).toString('hex')}:`,
    globalPerSecond: 50,
    invalidMax: 10_000,
    invalidWindowMs: 600_000,
    defaultBucket: { limit: 1000, windowMs: 60_000 },
    routes: { 'POST /channels/:id/messages': { limit: 3, windowMs: 60_000 } },
    ...over,
  };
}

const limiter = (over: Partial<Opts> = {}) => new RateLimiter(options(over));

describe('RateLimiter (real Redis, one Lua script per check)', () => {
  it('counts a route bucket per major parameter and refuses with Remaining 0 and Retry-After', async () => {
    const rl = limiter();
    const route = 'POST /channels/:id/messages';
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await rl.check('bot1', '10.0.0.1', route, '111111111111111111'));
    expect(seen.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(seen.map((d) => d.bucket?.remaining)).toEqual([2, 1, 0, 0]);
    const refused = seen[3];
    expect(refused.scope).toBe('user');
    const h = rateLimitHeaders(refused, 1_700_000_000_000);
    expect(h['x-ratelimit-limit']).toBe('3');
    expect(h['x-ratelimit-remaining']).toBe('0');
    expect(Number(h['retry-after'])).toBeGreaterThan(0);
    expect(Number(h['x-ratelimit-reset-after'])).toBeLessThanOrEqual(60);
    expect(Number(h['x-ratelimit-reset'])).toBeCloseTo(1_700_000_000 + Number(h['x-ratelimit-reset-after']), 2);
    expect(h['x-ratelimit-bucket']).toMatch(/^[0-9a-f]{16}$/);
    expect(h['x-ratelimit-scope']).toBe('user');
    expect(h['x-ratelimit-global']).toBeUndefined();
    // Another channel (major parameter) and another bot have their own buckets.
    expect((await rl.check('bot1', '10.0.0.1', route, '222222222222222222')).allowed).toBe(true);
    expect((await rl.check('bot2', '10.0.0.1', route, '111111111111111111')).allowed).toBe(true);
  });

  it('applies the global per-bot limit across routes with X-RateLimit-Global', async () => {
    const rl = limiter({ globalPerSecond: 5 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        rl.check('bot1', '10.0.0.2', 'GET /channels/:id', String(300000000000000000n + BigInt(i))),
      ),
    );
    expect(results.filter((d) => d.allowed).length).toBe(5);
    const refused = results.find((d) => !d.allowed)!;
    expect(refused.scope).toBe('global');
    const h = rateLimitHeaders(refused);
    expect(h['x-ratelimit-global']).toBe('true');
    expect(h['x-ratelimit-scope']).toBe('global');
    expect(Number(h['retry-after'])).toBeLessThanOrEqual(1);
    // Another bot is not affected.
    expect((await rl.check('bot2', '10.0.0.2', 'GET /channels/:id', '1')).allowed).toBe(true);
  });

  it('bans an IP with scope shared once its invalid requests reach the limit, and only that IP', async () => {
    const rl = limiter({ invalidMax: 4 });
    for (let i = 1; i <= 4; i++) expect(await rl.recordInvalid('10.0.0.3')).toBe(i);
    const banned = await rl.check('bot1', '10.0.0.3', 'GET /users/@me', '');
    expect(banned).toMatchObject({ allowed: false, scope: 'shared' });
    const h = rateLimitHeaders(banned);
    expect(h['x-ratelimit-scope']).toBe('shared');
    expect(Number(h['retry-after'])).toBeGreaterThan(500);
    expect(h['x-ratelimit-limit']).toBeUndefined();
    expect((await rl.check('bot1', '10.0.0.4', 'GET /users/@me', '')).allowed).toBe(true);
  });

  it('two limiters on one Redis (two API nodes) share the bucket', async () => {
    const shared = options();
    const a = new RateLimiter(shared);
    const b = new RateLimiter(shared);
    const route = 'POST /channels/:id/messages';
    const out = [];
    for (let i = 0; i < 4; i++) out.push(await (i % 2 ? b : a).check('bot9', '10.0.0.5', route, '5'));
    expect(out.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });
});
