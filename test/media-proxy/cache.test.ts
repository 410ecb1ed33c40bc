import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { pino } from 'pino';
import { createRedis } from '../../common/redis.ts';
import {
  FsOriginStore,
  loadMediaProxyConfig,
  createMediaApp,
  detectImage,
  MediaService,
  type OriginRef,
  type OriginStore,
  type UploadEvent,
} from '../../media-proxy/index.ts';
import { Coalescer } from '../../media-proxy/cache/coalesce.ts';
import { markHierarchyTop } from '../../media-proxy/cache/spread-dirs.ts';
import { fixture, makeProxy, multipartBody, tempDir, type TestProxy } from './helpers.ts';

const CHANNEL = '1200000000000000001';
let open: TestProxy[] = [];
afterEach(async () => {
  for (const t of open) await t.close();
  open = [];
});

async function proxyWith(env: Record<string, string> = {}, extra: Parameters<typeof makeProxy>[1] = {}) {
  const t = await makeProxy({ MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false', ...env }, extra);
  open.push(t);
  return t;
}

async function uploadVia(t: TestProxy, name: string): Promise<{ id: string; hash: string; path: string }> {
  const { body, headers } = multipartBody(fixture(name), name);
  const res = await t.app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers });
  expect(res.statusCode).toBe(200);
  const j = res.json<{ id: string; hash: string; filename: string }>();
  return { id: j.id, hash: j.hash, path: `/attachments/${CHANNEL}/${j.id}/${j.filename}` };
}

/** An origin store whose reads wait for the test to open the gate, so concurrent requests provably overlap. */
class HeldStore implements OriginStore {
  reads = 0;
  private open!: () => void;
  readonly opened = new Promise<void>((r) => (this.open = r));
  constructor(private readonly inner: OriginStore) {}
  release(): void {
    this.open();
  }
  put(d: Uint8Array) {
    return this.inner.put(d);
  }
  async get(h: string) {
    this.reads++;
    await this.opened;
    return this.inner.get(h);
  }
  putRef(k: string, r: OriginRef) {
    return this.inner.putRef(k, r);
  }
  getRef(k: string) {
    return this.inner.getRef(k);
  }
}

describe('coalescing', () => {
  it('Coalescer shares one promise per key while it is in flight', async () => {
    const c = new Coalescer<number>();
    let calls = 0;
    let finish!: (v: number) => void;
    const work = () => {
      calls++;
      return new Promise<number>((r) => (finish = r));
    };
    const all = [c.run('k', work), c.run('k', work), c.run('k', work)];
    finish(7);
    expect(await Promise.all(all)).toEqual([7, 7, 7]);
    expect(calls).toBe(1);
    expect(c.joined).toBe(2);
    expect(c.size).toBe(0);
  });

  it('identical requests in flight run one transform; the rest join it', async () => {
    const store = new HeldStore(new FsOriginStore(tempDir('held')));
    const t = await proxyWith({}, { store });
    const up = await uploadVia(t, 'photo.jpg');
    const url = `${up.path}?width=90&format=webp`;
    const inflight = Array.from({ length: 5 }, () => t.app.inject({ method: 'GET', url }));
    // Hold the one origin read until the other four requests have joined the flight, however slow the machine is.
    while (t.service.coalescer.joined < 4) await new Promise((r) => setTimeout(r, 5));
    store.release();
    const res = await Promise.all(inflight);
    expect(res.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(res.map((r) => r.headers['x-resound-cache']).sort()).toEqual([
      'coalesced',
      'coalesced',
      'coalesced',
      'coalesced',
      'miss',
    ]);
    expect(store.reads).toBe(1);
    expect(new Set(res.map((r) => r.rawPayload.toString('base64'))).size).toBe(1);
    const metrics =
      (await t.service.registry.getSingleMetric('resound_media_proxy_transforms_total')?.get())?.values ?? [];
    expect(metrics.find((v) => v.labels.format === 'webp')?.value).toBe(1);
  });
});

describe('result cache: disk + Redis index, LRU under a byte budget', () => {
  it('evicts least recently used results first and keeps the byte count within budget', async () => {
    const budget = 24_000;
    // Every hit served from memory tells the shared LRU at once (no batching), so A's second access reorders it.
    const t = await proxyWith({ MEDIA_PROXY_CACHE_MAX_BYTES: String(budget), MEDIA_PROXY_HOT_TOUCH_MS: '0' });
    const up = await uploadVia(t, 'photo.jpg');
    const fetchW = async (w: number) => {
      const r = await t.app.inject({ method: 'GET', url: `${up.path}?width=${w}&format=png` });
      expect(r.statusCode).toBe(200);
      await t.service.flush();
      return {
        key: String(r.headers.etag).slice(1, -1),
        size: r.rawPayload.length,
        cache: r.headers['x-resound-cache'],
      };
    };
    // Widths are snapped up to size buckets, so each of these is its own entry.
    const a = await fetchW(56);
    const b = await fetchW(60);
    // The LRU scores are milliseconds: let the clock move past B's access so A's next hit is strictly newer.
    const bAt = Date.now();
    while (Date.now() <= bAt) await new Promise((r) => setImmediate(r));
    expect((await fetchW(56)).cache).toBe('hit'); // A is now more recent than B
    const later = [];
    for (const w of [48, 64]) later.push(await fetchW(w));
    expect(a.size + b.size + later.reduce((s, x) => s + x.size, 0)).toBeGreaterThan(budget);
    expect(await t.service.cache.totalBytes()).toBeLessThanOrEqual(budget);
    expect(await t.service.cache.has(b.key)).toBe(false);
    expect(fs.existsSync(path.join(t.service.cache.dir, b.key.slice(0, 2), b.key))).toBe(false);
    expect(await t.service.cache.has(later[1].key)).toBe(true);
    expect(t.service.cache.evictions).toBeGreaterThan(0);
    // The recently used A outlives B; the index's byte count equals what is on disk.
    const members = await t.redis.zrange(`${t.prefix}lru`, '0', '-1');
    let onDisk = 0;
    for (const k of members) onDisk += fs.statSync(path.join(t.service.cache.dir, k.slice(0, 2), k)).size;
    expect(onDisk).toBe(await t.service.cache.totalBytes());
    expect(members).toContain(a.key);
  });

  it('re-renders when the index outlives the file', async () => {
    const t = await proxyWith({ MEDIA_PROXY_HOT_CACHE_BYTES: '0' }); // the disk path: nothing kept in memory
    const up = await uploadVia(t, 'photo.jpg');
    const url = `${up.path}?width=70&format=png`;
    const first = await t.app.inject({ method: 'GET', url });
    const key = String(first.headers.etag).slice(1, -1);
    await t.service.flush();
    fs.rmSync(path.join(t.service.cache.dir, key.slice(0, 2), key));
    const again = await t.app.inject({ method: 'GET', url });
    expect(again.headers['x-resound-cache']).toBe('miss');
    expect(again.rawPayload.equals(first.rawPayload)).toBe(true);
  });

  it('marks its root as a hierarchy top where the filesystem has one, so its shards spread over block groups', async () => {
    const t = await proxyWith();
    const attrs = spawnSync('lsattr', ['-d', t.service.cache.dir], { encoding: 'utf8' });
    // Where lsattr can read the flags (ext2/3/4), the root carries T exactly when start() reported it spread.
    if (attrs.status === 0) expect(attrs.stdout.split(' ')[0].includes('T')).toBe(t.service.cache.shardsSpread);
    else expect(t.service.cache.shardsSpread).toBe(false);
    expect(fs.readdirSync(t.service.cache.dir).length).toBe(256);
    // Without chattr (or on a filesystem without the flag) nothing fails: the cache just keeps the default layout.
    expect(await markHierarchyTop(t.service.cache.dir, '/nonexistent/chattr')).toBe(false);
  });
});

describe('admission and time limits over HTTP', () => {
  it('answers 503 overloaded with Retry-After when every slot and queue place is taken, then recovers', async () => {
    const t = await proxyWith({ MEDIA_PROXY_CONCURRENCY: '1', MEDIA_PROXY_QUEUE_SIZE: '0' });
    const up = await uploadVia(t, 'photo.jpg');
    const release = await t.service.gate.acquire();
    const busy = await t.app.inject({ method: 'GET', url: `${up.path}?width=50&format=webp` });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json()).toMatchObject({ error: { code: 'overloaded' } });
    release();
    expect((await t.app.inject({ method: 'GET', url: `${up.path}?width=50&format=webp` })).statusCode).toBe(200);
  });

  it('answers 503 transform_timeout past the budget and keeps serving', async () => {
    const t = await proxyWith({ MEDIA_PROXY_TIMEOUT_MS: '1', MEDIA_PROXY_AVIF_EFFORT: '9' });
    const up = await uploadVia(t, 'photo.jpg');
    const slow = await t.app.inject({ method: 'GET', url: `${up.path}?format=avif&quality=95` });
    expect(slow.statusCode).toBe(503);
    expect(slow.json()).toMatchObject({ error: { code: 'transform_timeout' } });
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('cache outage', () => {
  it('keeps serving images, uncached, when Redis is unreachable', async () => {
    const dead = createRedis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const dir = tempDir('dead');
    const config = loadMediaProxyConfig(
      { MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false', MEDIA_PROXY_SIGNING_SECRET: 'test-secret-0123456789abcdef' },
      dir,
    );
    const logger = pino({ level: 'silent' });
    const service = new MediaService({ config, redis: dead, logger });
    const app = await createMediaApp(service, logger);
    try {
      const { body, headers } = multipartBody(fixture('photo.jpg'), 'photo.jpg');
      const up = (await app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers })).json<{
        id: string;
      }>();
      for (let i = 0; i < 2; i++) {
        const r = await app.inject({
          method: 'GET',
          url: `/attachments/${CHANNEL}/${up.id}/photo.jpg?width=40&format=png`,
        });
        expect(r.statusCode).toBe(200);
        expect(r.headers['x-resound-cache']).toBe('miss');
        expect((await sharp(r.rawPayload).metadata()).width).toBe(40);
        await service.flush();
      }
      const metrics = await service.registry.metrics();
      expect(metrics).toMatch(/resound_media_proxy_cache_errors_total [1-9]/);
    } finally {
      await app.close();
      await service.close();
      dead.disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('upload limits', () => {
  it('refuses an upload over MEDIA_PROXY_MAX_INPUT_BYTES with 413 input_too_large and stores nothing', async () => {
    const t = await proxyWith({ MEDIA_PROXY_MAX_INPUT_BYTES: '10000' });
    const { body, headers } = multipartBody(fixture('photo.jpg'), 'photo.jpg');
    const res = await t.app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'input_too_large' } });
    expect(fs.existsSync(path.join(t.service.config.originDir, 'objects'))).toBe(false);
    const notMultipart = await t.app.inject({
      method: 'POST',
      url: `/attachments/${CHANNEL}`,
      payload: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notMultipart.statusCode).toBeGreaterThanOrEqual(400);
    expect(notMultipart.statusCode).toBeLessThan(500);
  });
});

describe('pre-rendering without HTTP (workers)', () => {
  it('the upload event reports each stored original and warm() fills the cache the routes then hit', async () => {
    const events: UploadEvent[] = [];
    const t = await proxyWith();
    t.service.on('upload', (e) => void events.push(e));
    const up = await uploadVia(t, 'animated.gif');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'attachment', hash: up.hash, ref: `attachments/${CHANNEL}/${up.id}` });
    expect(events[0].detect.isAnimated).toBe(true);
    const out = await t.service.warm(up.hash, [
      { format: 'webp', width: 48 },
      { format: 'avif', width: 48 },
      { format: 'gif', width: 48, quality: 200 },
    ]);
    expect(out.map((o) => o.cache)).toEqual(['miss', 'miss', 'error']);
    expect(out[2].error?.code).toBe('bad_request');
    const hit = await t.app.inject({ method: 'GET', url: `${up.path}?width=48&format=webp` });
    expect(hit.headers['x-resound-cache']).toBe('hit');
    expect((await sharp(hit.rawPayload, { animated: true }).metadata()).pages).toBe(4);
    const again = await t.service.warm(up.hash, [{ format: 'webp', width: 48 }]);
    expect(again[0].cache).toBe('hit');
  });
});

describe('the service apart from its HTTP app', () => {
  it('constructing a MediaService changes no process-wide sharp setting', async () => {
    const before = { threads: sharp.concurrency(), cache: sharp.cache() };
    await proxyWith({ MEDIA_PROXY_SHARP_CONCURRENCY: '3', MEDIA_PROXY_SHARP_CACHE_MB: '0' });
    expect({ threads: sharp.concurrency(), cache: sharp.cache() }).toEqual(before);
  });

  it('an upload listener that throws or rejects is logged; the upload still succeeds and later listeners still run', async () => {
    const lines: { msg: string; err: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const t = await proxyWith({}, { logger });
    const seen: string[] = [];
    t.service.on('upload', () => {
      throw new Error('sync listener failure');
    });
    t.service.on('upload', async () => {
      throw new Error('async listener failure');
    });
    t.service.on('upload', (e) => void seen.push(e.ref));
    const up = await uploadVia(t, 'photo.jpg');
    expect(seen).toEqual([`attachments/${CHANNEL}/${up.id}`]);
    while (lines.length < 1) await new Promise((r) => setImmediate(r));
    // Both failures share one rate-limited log key: the first is written, the second counted as suppressed.
    expect(lines[0]).toMatchObject({
      msg: 'upload listener failed; the upload itself succeeded',
      err: 'sync listener failure',
    });
    const res = await t.app.inject({ method: 'GET', url: `${up.path}?width=32&format=png` });
    expect(res.statusCode).toBe(200);
  });
});

describe('origin store', () => {
  it('reads an original of known size in one read, and whole when that size is not the file’s', async () => {
    const store = new FsOriginStore(tempDir('origin-size'));
    const data = fixture('photo.jpg');
    const hash = await store.put(data);
    expect((await store.get(hash, data.length))?.equals(data)).toBe(true);
    expect((await store.get(hash, data.length - 1))?.equals(data)).toBe(true);
    expect((await store.get(hash, data.length + 10))?.equals(data)).toBe(true);
    expect((await store.get(hash))?.equals(data)).toBe(true);
    expect(await store.get('0'.repeat(64), 10)).toBeUndefined();
  });

  it('keeps a ref it wrote in memory, as a fresh store reads it from disk', async () => {
    const dir = tempDir('origin-refs');
    const store = new FsOriginStore(dir);
    const data = fixture('photo.jpg');
    const hash = await store.put(data);
    const ref: OriginRef = {
      hash,
      kind: 'emoji',
      uploadedAt: new Date(0).toISOString(),
      detect: detectImage(data),
    };
    await store.putRef('emojis/1300000000000000001', ref);
    const remembered = store.peekRef('emojis/1300000000000000001');
    const fresh = new FsOriginStore(dir);
    expect(fresh.peekRef('emojis/1300000000000000001')).toBeUndefined();
    const read = await fresh.getRef('emojis/1300000000000000001');
    expect(remembered).toEqual(read);
    expect(fresh.peekRef('emojis/1300000000000000001')).toBe(read);
    expect(await fresh.getRef('emojis/../x')).toBeUndefined();
  });
});
