import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { signedUrl } from '../../media-proxy/index.ts';
import { MissLimiter } from '../../media-proxy/miss-limiter.ts';
import { fixture, makeProxy, multipartBody, type TestProxy } from './helpers.ts';

/**
 * Unsigned transform parameters must not be a way to fill the cache or burn CPU (security review, issue 18 items 7
 * and 11): values snap to allowed steps, the cache budget counts entries, misses are rate-limited per client, and a
 * signed attachment is never cached past its signature.
 */
const CHANNEL = '1400000000000000001';
let open: TestProxy[] = [];
afterEach(async () => {
  for (const t of open) await t.close();
  open = [];
});

async function proxyWith(env: Record<string, string> = {}): Promise<TestProxy> {
  const t = await makeProxy({ MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false', ...env });
  open.push(t);
  return t;
}

async function uploadVia(t: TestProxy, name = 'photo.jpg', data = fixture(name)): Promise<Record<string, string>> {
  const { body, headers } = multipartBody(data, name);
  const res = await t.app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers });
  expect(res.statusCode).toBe(200);
  const j = res.json<Record<string, string>>();
  return { ...j, path: `/attachments/${CHANNEL}/${j.id}/${j.filename}` };
}

async function rejections(t: TestProxy, code: string): Promise<number> {
  const m = await t.service.registry.getSingleMetric('resound_media_proxy_rejections_total')?.get();
  return m?.values.find((v) => v.labels.code === code)?.value ?? 0;
}

const entries = (t: TestProxy) => t.redis.zcard(`${t.prefix}lru`);

describe('unsigned parameters snap to allowed steps', () => {
  it('300 distinct widths make at most one cache entry per size bucket', async () => {
    const t = await proxyWith();
    const up = await uploadVia(t); // 320×213
    const etags = new Set<string>();
    for (let w = 1; w <= 300; w++) {
      const r = await t.app.inject({ method: 'GET', url: `${up.path}?width=${w}&format=webp` });
      expect(r.statusCode).toBe(200);
      etags.add(String(r.headers.etag));
      await t.service.flush();
    }
    // Buckets up to 300: 16, 20, 22, 24, 28, 32, 40, 44, 48, 56, 60, 64, 80, 96, 100, 128, 160, 240, 256, 300.
    expect(etags.size).toBe(20);
    expect(await entries(t)).toBe(20);
    const r = await t.app.inject({ method: 'GET', url: `${up.path}?width=57&format=webp` });
    expect(r.headers['x-resound-image']).toMatch(/^60x/);
  }, 120_000);

  it('qualities snap to multiples of 5, PNG ignores quality, crop boxes keep their aspect ratio on the grid', async () => {
    const t = await proxyWith();
    const up = await uploadVia(t);
    const etag = async (q: string) =>
      String((await t.app.inject({ method: 'GET', url: `${up.path}?${q}` })).headers.etag);
    expect(new Set([await etag('format=webp&quality=73'), await etag('format=webp&quality=77')]).size).toBe(1);
    expect(await etag('format=webp&quality=73')).not.toBe(await etag('format=webp&quality=78'));
    expect(await etag('format=png&quality=10')).toBe(await etag('format=png'));
    const crop = await t.app.inject({ method: 'GET', url: `${up.path}?width=90&height=61&fit=cover&format=png` });
    const m = await sharp(crop.rawPayload).metadata();
    expect([m.width, m.height]).toEqual([96, 64]); // 90 → bucket 96; 61 × 96/90 = 65.1 → 64
  });
});

describe('the result cache counts entries as well as bytes', () => {
  it('evicts the least recently used entries past MEDIA_PROXY_CACHE_MAX_ENTRIES, files included', async () => {
    const t = await proxyWith({ MEDIA_PROXY_CACHE_MAX_ENTRIES: '3' });
    const up = await uploadVia(t);
    const keys: string[] = [];
    for (const w of [16, 20, 22, 24, 28]) {
      const r = await t.app.inject({ method: 'GET', url: `${up.path}?width=${w}&format=png` });
      keys.push(String(r.headers.etag).slice(1, -1));
      await t.service.flush();
    }
    expect(await entries(t)).toBe(3);
    expect(await t.service.cache.entries()).toBe(3);
    for (const k of keys.slice(0, 2)) {
      expect(await t.service.cache.has(k)).toBe(false);
      expect(fs.existsSync(path.join(t.service.cache.dir, k.slice(0, 2), k))).toBe(false);
    }
    for (const k of keys.slice(2)) expect(await t.service.cache.has(k)).toBe(true);
    expect(await t.service.registry.metrics()).toMatch(/resound_media_proxy_cache_evictions_total 2/);
  });
});

describe('cache misses are rate-limited per client', () => {
  it('answers 429 with Retry-After past the burst, counts it, and still serves hits and other clients', async () => {
    const t = await proxyWith({ MEDIA_PROXY_MISS_BURST: '3', MEDIA_PROXY_MISSES_PER_MINUTE: '1' });
    const up = await uploadVia(t);
    const get = (w: number, remoteAddress = '10.0.0.1') =>
      t.app.inject({ method: 'GET', url: `${up.path}?width=${w}&format=webp`, remoteAddress });
    for (const w of [16, 20, 22]) expect((await get(w)).statusCode).toBe(200);
    await t.service.flush();
    const limited = await get(24);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(limited.headers['retry-after'])).toBe(60); // one token per minute, none left
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(await rejections(t, 'rate_limited')).toBe(1);
    const hit = await get(16);
    expect([hit.statusCode, hit.headers['x-resound-cache']]).toEqual([200, 'hit']);
    const other = await get(24, '10.0.0.2');
    expect([other.statusCode, other.headers['x-resound-cache']]).toEqual([200, 'miss']);
  });

  it('refills at the configured rate (token bucket on an injected clock)', () => {
    let now = 0;
    const m = new MissLimiter(60, 2, () => now);
    expect([m.take('a'), m.take('a'), m.take('a')]).toEqual([0, 0, 1]);
    now += 1000; // one token per second at 60/min
    expect([m.take('a'), m.take('a')]).toEqual([0, 1]);
    expect(m.take('b')).toBe(0);
    expect(new MissLimiter(0, 1, () => now).take('a')).toBe(0); // 0 per minute = off
  });
});

describe('signed attachments are cached no longer than their signature', () => {
  it('caps max-age at the remaining life of ex, for 200 and 304 alike; unsigned kinds keep a year', async () => {
    const t = await proxyWith({ MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'true' });
    const up = await uploadVia(t);
    const short = new URL(signedUrl(t.service.config.signingSecret, 'http://x', up.path, 120));
    const url = `${short.pathname}${short.search}&width=40&format=webp`;
    const r = await t.app.inject({ method: 'GET', url });
    expect(r.statusCode).toBe(200);
    const maxAge = (h: unknown) => Number(/max-age=(\d+)/.exec(String(h))?.[1]);
    expect(maxAge(r.headers['cache-control'])).toBeLessThanOrEqual(120);
    expect(maxAge(r.headers['cache-control'])).toBeGreaterThan(60);
    const cond = await t.app.inject({ method: 'GET', url, headers: { 'if-none-match': String(r.headers.etag) } });
    expect(cond.statusCode).toBe(304);
    expect(maxAge(cond.headers['cache-control'])).toBeLessThanOrEqual(120);
    const { body, headers } = multipartBody(fixture('anim-1.gif'), 'e.gif');
    const emoji = await t.app.inject({ method: 'POST', url: '/emojis', payload: body, headers });
    const e = await t.app.inject({ method: 'GET', url: `/emojis/${emoji.json<{ id: string }>().id}.png?size=32` });
    expect(e.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(t.service.cacheControl(10_000, 5_000)).toBe('public, max-age=5, immutable');
  });
});
