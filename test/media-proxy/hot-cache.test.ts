import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Redis } from '../../common/redis.ts';
import { createMediaApp, loadMediaProxyConfig, MediaService } from '../../media-proxy/index.ts';
import { HotCache, hitOf } from '../../media-proxy/cache/hot-cache.ts';
import { createRng } from '../../common/rng.ts';
import { dropPrefix, fixture, multipartBody, redisClient, tempDir } from './helpers.ts';

const CHANNEL = '1200000000000000002';
/** The headers a cached answer must carry identically whether it comes from memory or from disk. */
const SAME = [
  'etag',
  'content-type',
  'content-length',
  'cache-control',
  'x-resound-cache',
  'x-resound-image',
  'x-content-type-options',
  'content-security-policy',
] as const;

interface Node {
  service: MediaService;
  app: FastifyInstance;
  redis: Redis;
  close(): Promise<void>;
}

/** Everything a test started, torn down after it: services first, then the shared prefix and folders. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A data folder and Redis prefix that several services (restarts, a second node) can share. */
function sharedPlace(): { dir: string; prefix: string } {
  const dir = tempDir('hot');
  const prefix = `test:mp:hot:${randomBytes(6).toString('hex')}:`;
  cleanups.push(async () => {
    const redis = redisClient();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, prefix };
}

async function node(place: { dir: string; prefix: string }, env: Record<string, string> = {}): Promise<Node> {
  const config = loadMediaProxyConfig(
    {
      MEDIA_PROXY_REDIS_PREFIX: place.prefix,
      MEDIA_PROXY_SIGNING_SECRET: 'test-secret-0123456789abcdef',
      MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false',
      ...env,
    },
    place.dir,
  );
  const redis = redisClient();
  const logger = pino({ level: 'silent' });
  const service = new MediaService({ config, redis, logger });
  await service.start();
  const app = await createMediaApp(service, logger);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await service.close();
    redis.disconnect();
  };
  cleanups.push(close);
  return { service, app, redis, close };
}

async function upload(n: Node, name: string): Promise<string> {
  const { body, headers } = multipartBody(fixture(name), name);
  const res = await n.app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers });
  expect(res.statusCode).toBe(200);
  const j = res.json<{ id: string; filename: string }>();
  return `/attachments/${CHANNEL}/${j.id}/${j.filename}`;
}

async function get(n: Node, url: string) {
  const res = await n.app.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(200);
  await n.service.flush();
  return {
    body: res.rawPayload,
    key: String(res.headers.etag).slice(1, -1),
    headers: Object.fromEntries(SAME.map((h) => [h, res.headers[h]])),
  };
}

describe('HotCache', () => {
  it('never holds more than its byte budget, drops the least recently used first and skips what cannot fit', () => {
    const budget = 40_000;
    const hot = new HotCache(budget, 1000);
    const rng = createRng(19);
    const facts = { format: 'webp', contentType: 'image/webp', width: 8, height: 8, frames: 1 } as const;
    const entry = (n: number) => hitOf(Buffer.alloc(n, 1), { ...facts, isAnimated: false, toneMapped: false });
    hot.set('keep', entry(5000), 0);
    for (let i = 0; i < 200; i++) {
      hot.set(`k${i}`, entry(1000 + Math.floor(rng() * 6000)), 0);
      expect(hot.get('keep', 0)).toBeDefined(); // used after every insert, so never the least recent
      expect(hot.bytes).toBeLessThanOrEqual(budget);
    }
    expect(hot.evictions).toBeGreaterThan(150);
    expect(hot.has('k0')).toBe(false);
    expect(hot.has('k199')).toBe(true);
    hot.set('huge', entry(budget), 0);
    expect(hot.has('huge')).toBe(false);
    expect(hot.has('keep')).toBe(true);
  });

  it('batches hits and reports them to the index once per touch interval', () => {
    const hot = new HotCache(1 << 20, 1000);
    hot.set(
      'a',
      hitOf(Buffer.alloc(10), {
        format: 'png',
        contentType: 'image/png',
        width: 1,
        height: 1,
        frames: 1,
        isAnimated: false,
        toneMapped: false,
      }),
      0,
    );
    expect(hot.get('a', 10)?.due).toBeUndefined();
    expect(hot.get('a', 999)?.due).toBeUndefined();
    expect(hot.get('a', 1000)?.due).toEqual({ key: 'a', hits: 3 });
    expect(hot.get('a', 1500)?.due).toBeUndefined();
    expect(hot.get('a', 2000)?.due).toEqual({ key: 'a', hits: 2 });
  });
});

describe('hot results in memory in front of disk and Redis', () => {
  it('answers from memory with the same bytes and headers as from disk, and again after a restart', async () => {
    const place = sharedPlace();
    const a = await node(place);
    const path = await upload(a, 'photo.jpg');
    const url = `${path}?width=96&format=webp`;
    const miss = await get(a, url);
    expect(miss.headers['x-resound-cache']).toBe('miss');
    const memory = await get(a, url);
    expect(a.service.cache.memoryHits).toBe(1);
    expect(a.service.cache.diskHits).toBe(0);
    expect(memory.headers['x-resound-cache']).toBe('hit');
    expect(memory.body.equals(miss.body)).toBe(true);
    await a.close();

    // A fresh service on the same data folder and Redis prefix: nothing in memory, the result comes from disk.
    const b = await node(place);
    const disk = await get(b, url);
    expect(b.service.cache.diskHits).toBe(1);
    expect(b.service.cache.memoryHits).toBe(0);
    expect(disk.body.equals(memory.body)).toBe(true);
    expect(disk.headers).toEqual(memory.headers);
    const again = await get(b, url);
    expect(b.service.cache.memoryHits).toBe(1);
    expect(again.body.equals(disk.body)).toBe(true);
    expect(again.headers).toEqual(disk.headers);
  });

  it('stays within its byte budget over HTTP and serves evicted results from disk unchanged', async () => {
    const widths = [64, 80, 96];
    // Learn the three results' sizes, then give a fresh node room for the largest alone: each new result pushes the
    // previous one out of memory.
    const probe = await node(sharedPlace());
    const probePath = await upload(probe, 'photo.jpg');
    const sizes = [];
    for (const w of widths) sizes.push((await get(probe, `${probePath}?width=${w}&format=png`)).body.length);
    const budget = Math.max(...sizes) + 512;
    expect(sizes[0] + sizes[1] + 1024).toBeGreaterThan(budget);
    const n = await node(sharedPlace(), { MEDIA_PROXY_HOT_CACHE_BYTES: String(budget) });
    const path = await upload(n, 'photo.jpg');
    const first = [];
    for (const w of widths) {
      first.push(await get(n, `${path}?width=${w}&format=png`));
      expect(n.service.cache.hot.bytes).toBeLessThanOrEqual(budget);
    }
    expect(n.service.cache.hot.evictions).toBe(2);
    expect(n.service.cache.hot.has(first[0].key)).toBe(false);
    const back = await get(n, `${path}?width=${widths[0]}&format=png`);
    expect(n.service.cache.diskHits).toBe(1);
    expect(back.body.equals(first[0].body)).toBe(true);
    expect(back.headers).toEqual({ ...first[0].headers, 'x-resound-cache': 'hit' });
    expect(n.service.cache.hot.bytes).toBeLessThanOrEqual(budget);
  });

  it('lets go of a result another process evicted from the shared index, then renders it again identically', async () => {
    const place = sharedPlace();
    const a = await node(place, { MEDIA_PROXY_HOT_TOUCH_MS: '0' });
    const path = await upload(a, 'photo.jpg');
    const url = `${path}?width=80&format=png`;
    const original = await get(a, url);
    expect(a.service.cache.hot.has(original.key)).toBe(true);
    // With no batching interval, a hit from memory reaches the shared index's hit count and LRU score.
    const putScore = Number(await a.redis.zscore(`${place.prefix}lru`, original.key));
    await get(a, url);
    while (Number(await a.redis.hget(`${place.prefix}meta:${original.key}`, 'hits')) < 1) {
      await new Promise((r) => setImmediate(r));
    }
    expect(Number(await a.redis.zscore(`${place.prefix}lru`, original.key))).toBeGreaterThanOrEqual(putScore);
    // A second node sharing the index, with a budget only its own newest result fits in: it evicts ours.
    const b = await node(place, { MEDIA_PROXY_CACHE_MAX_BYTES: String(original.body.length + 100) });
    const smaller = await get(b, `${path}?width=48&format=png`);
    expect(smaller.body.length).toBeLessThan(original.body.length);
    expect(await a.service.cache.has(original.key)).toBe(false);
    // Still answered from a's memory once (correct bytes), and the touch that follows finds it gone from the index.
    const stale = await get(a, url);
    expect(stale.body.equals(original.body)).toBe(true);
    while (a.service.cache.hot.has(original.key)) await new Promise((r) => setImmediate(r));
    const again = await get(a, url);
    expect(again.headers['x-resound-cache']).toBe('miss');
    expect(again.body.equals(original.body)).toBe(true);
    expect(again.headers).toEqual({ ...original.headers, 'x-resound-cache': 'miss' });
  });

  it('costs a miss one Redis command (the preloaded indexing script) and hot hits none', async () => {
    const place = sharedPlace();
    const n = await node(place);
    const path = await upload(n, 'photo.jpg');
    const sent = vi.spyOn(n.redis, 'sendCommand');
    const url = `${path}?width=64&format=jpeg`;
    await get(n, url);
    const names = sent.mock.calls.map(([c]) => c.name.toLowerCase());
    // No file, so no lookup in Redis; then the write: file + one EVALSHA that indexes (and evicts only when over). No
    // EVAL or SCRIPT LOAD follows it: the script was loaded at start.
    expect(names).toEqual(['evalsha']);
    sent.mockClear();
    for (let i = 0; i < 20; i++) await get(n, url);
    expect(sent.mock.calls).toHaveLength(0);
    expect(n.service.cache.memoryHits).toBe(20);
    sent.mockRestore();
  });
});
