import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { pino } from 'pino';
import { loadCommonConfig } from '../../common/config.ts';
import { signedUrl, start } from '../../media-proxy/index.ts';
import { fixture, makeProxy, redisClient, tempDir, type TestProxy } from './helpers.ts';

/** Everything here goes through a real listening socket with fetch(), against real Redis. */
let t: TestProxy;
let base: string;
let internalBase: string;
const CHANNEL = '1100000000000000001';
const USER = '1100000000000000002';

async function upload(
  path: string,
  name: string,
  data = fixture(name),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append('file', new Blob([data]), name);
  const res = await fetch(`${base}${path}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url.startsWith('http') ? url : `${base}${url}`, { headers, method });
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, json: () => JSON.parse(body.toString()) as { error: { code: string; message: string } } };
}

beforeAll(async () => {
  t = await makeProxy();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  internalBase = await t.internal.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t.close());

describe('attachments: upload, signed URLs, CDN semantics', () => {
  let url: string;
  let pathname: string;
  beforeAll(async () => {
    const up = await upload(`/attachments/${CHANNEL}`, 'photo.jpg');
    expect(up.status).toBe(200);
    url = up.body.url as string;
    pathname = new URL(url).pathname;
  });

  it('answers the upload with metadata and a Discord-shaped signed URL', async () => {
    const up = await upload(`/attachments/${CHANNEL}`, 'animated.gif');
    expect(up.body).toMatchObject({
      content_type: 'image/gif',
      width: 96,
      height: 64,
      frames: 4,
      is_animated: true,
      filename: 'animated.gif',
    });
    expect((up.body.hdr as { transfer: string }).transfer).toBe('unspecified');
    const u = new URL(up.body.url as string);
    expect(u.pathname).toBe(`/attachments/${CHANNEL}/${up.body.id as string}/animated.gif`);
    expect(u.searchParams.get('hm')).toMatch(/^[0-9a-f]{64}$/);
    expect(parseInt(u.searchParams.get('ex') ?? '0', 16)).toBeGreaterThan(
      parseInt(u.searchParams.get('is') ?? '0', 16),
    );
  });

  it('serves a resized WebP with immutable caching, a strong ETag and exact Content-Length', async () => {
    const { res, body } = await get(`${url}&width=100&format=webp`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    // Immutable, but a CDN keeps it no longer than the signature (24 h) that admitted the request.
    const maxAge = Number(/^public, max-age=(\d+), immutable$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeLessThanOrEqual(86_400);
    expect(maxAge).toBeGreaterThan(86_400 - 600);
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{40}"$/);
    expect(res.headers.get('vary')).toBeNull();
    const meta = await sharp(body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 100, 66]);
    expect(res.headers.get('x-resound-cache')).toBe('miss');
    await t.service.flush(); // the cache write lands after the answer
    const again = await get(`${url}&width=100&format=webp`);
    expect(again.res.headers.get('x-resound-cache')).toBe('hit');
    expect(again.body.equals(body)).toBe(true);
    // From memory: the shared index hears of it with the next batched LRU touch (hot-cache.test.ts).
    expect(t.service.cache.memoryHits).toBe(1);
  });

  it('answers If-None-Match with 304 and HEAD with headers only', async () => {
    const first = await get(`${url}&width=80&format=png`);
    const etag = first.res.headers.get('etag') ?? '';
    const cond = await get(`${url}&width=80&format=png`, { 'if-none-match': etag });
    expect(cond.res.status).toBe(304);
    expect(cond.body.length).toBe(0);
    expect(cond.res.headers.get('etag')).toBe(etag);
    const head = await get(`${url}&width=80&format=png`, {}, 'HEAD');
    expect(head.res.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.res.headers.get('content-length'))).toBe(first.body.length);
    expect(head.res.headers.get('content-type')).toBe('image/png');
  });

  it('counts each answer in resound_media_proxy_requests_total by route and outcome (miss, hit, 304)', async () => {
    const counts = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${internalBase}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^resound_media_proxy_requests_total\{route="attachment",cache="(\w+)"\} (\d+)$/gm))
        out[m[1]] = Number(m[2]);
      return out;
    };
    const before = await counts();
    const miss = await get(`${url}&width=52&format=webp`);
    expect(miss.res.headers.get('x-resound-cache')).toBe('miss');
    await get(`${url}&width=52&format=webp`);
    await get(`${url}&width=52&format=webp`, { 'if-none-match': miss.res.headers.get('etag') ?? '' });
    const after = await counts();
    for (const outcome of ['miss', 'hit', 'not_modified'])
      expect((after[outcome] ?? 0) - (before[outcome] ?? 0), outcome).toBe(1);
  });

  it('negotiates on Accept (AVIF > WebP > original) and sends Vary: Accept', async () => {
    const avif = await get(`${url}&width=64`, { accept: 'image/avif,image/webp,*/*' });
    const webp = await get(`${url}&width=64`, { accept: 'image/webp,*/*' });
    const orig = await get(`${url}&width=64`, { accept: '*/*' });
    expect(avif.res.headers.get('content-type')).toBe('image/avif');
    expect(webp.res.headers.get('content-type')).toBe('image/webp');
    expect(orig.res.headers.get('content-type')).toBe('image/jpeg');
    for (const r of [avif, webp, orig]) expect(r.res.headers.get('vary')).toBe('Accept');
    expect(new Set([avif, webp, orig].map((r) => r.res.headers.get('etag'))).size).toBe(3);
    expect((await sharp(avif.body).metadata()).width).toBe(64);
  });

  it('refuses missing, forged and expired signatures with 404 and no caching', async () => {
    const missing = await get(`${pathname}?width=10`);
    expect(missing.res.status).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect(missing.res.headers.get('cache-control')).toBe('no-store');
    const forged = new URL(url);
    forged.searchParams.set('hm', 'a'.repeat(64));
    expect((await get(forged.toString())).res.status).toBe(404);
    const expired = signedUrl(t.service.config.signingSecret, base, pathname, 60, Date.now() - 3_600_000);
    const e = await get(expired);
    expect(e.res.status).toBe(404);
    expect(e.json().error).toEqual({ code: 'content_expired', message: 'This content is no longer available.' });
    expect((await get(`/attachments/${CHANNEL}/1100000000000000099/photo.jpg`)).res.status).toBe(404);
  });

  it('url is the file as uploaded (passthrough=true), proxy_url the negotiated rendition; a transform parameter wins', async () => {
    const data = fixture('photo.jpg');
    const up = await upload(`/attachments/${CHANNEL}`, 'photo.jpg', data);
    const { url: original, proxy_url: proxied } = up.body as { url: string; proxy_url: string };
    expect(new URL(original).searchParams.get('passthrough')).toBe('true');
    expect(new URL(proxied).searchParams.has('passthrough')).toBe(false);
    const counts = async () => {
      const text = await (await fetch(`${internalBase}/metrics`)).text();
      return Number(
        /^resound_media_proxy_requests_total\{route="attachment",cache="original"\} (\d+)$/m.exec(text)?.[1] ?? 0,
      );
    };
    const before = await counts();
    // Accept would pick AVIF for a rendition; the original is the JPEG as uploaded, byte for byte, with no Vary.
    const o = await get(original, { accept: 'image/avif,image/webp,*/*' });
    expect(o.res.status).toBe(200);
    expect(o.body.equals(data)).toBe(true);
    expect(o.res.headers.get('content-type')).toBe('image/jpeg');
    expect(Number(o.res.headers.get('content-length'))).toBe(data.length);
    expect(o.res.headers.get('x-resound-cache')).toBe('original');
    expect(o.res.headers.get('vary')).toBeNull();
    expect(o.res.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
    const etag = o.res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const head = await get(original, {}, 'HEAD');
    expect([head.res.status, head.body.length, Number(head.res.headers.get('content-length'))]).toEqual([
      200,
      0,
      data.length,
    ]);
    const again = await get(original, { 'if-none-match': etag });
    expect(again.res.status).toBe(304);
    expect(await counts()).toBe(before + 2);
    // The rendition of the same file differs; a transform parameter beside passthrough asks for a rendition.
    const r = await get(proxied, { accept: 'image/avif,image/webp,*/*' });
    expect(r.res.headers.get('content-type')).toBe('image/avif');
    const resized = await get(`${original}&width=64`);
    expect(resized.res.headers.get('x-resound-cache')).toMatch(/^(miss|hit)$/);
    expect((await sharp(resized.body).metadata()).width).toBe(64);
    // The signature still guards the original; a malformed passthrough is a 400 like any parameter.
    const forged = new URL(original);
    forged.searchParams.set('hm', 'b'.repeat(64));
    expect((await get(forged.toString())).res.status).toBe(404);
    const bad = await get(original.replace('passthrough=true', 'passthrough=maybe'));
    expect(bad.res.status).toBe(400);
    expect(bad.json().error.code).toBe('bad_request');
  });

  it('rejects bad parameters with 400 bad_request', async () => {
    for (const q of ['width=abc', 'format=bmp', 'size=5000', 'quality=0', 'animated=maybe', 'fit=stretch']) {
      const r = await get(`${url}&${q}`);
      expect(r.res.status, q).toBe(400);
      expect(r.json().error.code).toBe('bad_request');
    }
  });

  it('tone-maps an uploaded PQ image and reports its HDR signalling', async () => {
    const up = await upload(`/attachments/${CHANNEL}`, 'pq.png');
    expect(up.body.hdr).toMatchObject({
      is_hdr: true,
      transfer: 'pq',
      primaries: 'bt2020',
      source: 'cicp-chunk',
      max_cll: 1000,
    });
    const r = await get(`${up.body.url as string}&format=png`);
    expect(r.res.headers.get('x-resound-image')).toContain('tone-mapped');
    const { data } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true });
    expect(data[(24 * 256 + 32) * 3]).toBeGreaterThanOrEqual(205);
  });
});

describe('emojis and avatars', () => {
  it('stores an animated emoji and serves WebP (animated on request), GIF via gifsicle, default 128 box', async () => {
    const up = await upload('/emojis', 'anim-1.gif');
    expect(up.status).toBe(200);
    expect(up.body.animated).toBe(true);
    const id = up.body.id as string;
    const still = await get(`/emojis/${id}.webp?size=48`);
    expect((await sharp(still.body, { animated: true }).metadata()).pages ?? 1).toBe(1);
    const moving = await get(`/emojis/${id}.webp?size=48&animated=true`);
    const m = await sharp(moving.body, { animated: true }).metadata();
    expect([m.width, m.pageHeight, m.pages]).toEqual([48, 36, 8]);
    const gif = await get(`/emojis/${id}.gif`);
    expect(gif.res.headers.get('content-type')).toBe('image/gif');
    const g = await sharp(gif.body, { animated: true }).metadata();
    expect([g.width, g.pages]).toEqual([128, 8]);
    const snapped = await get(`/emojis/${id}.png?size=50`);
    expect((await sharp(snapped.body).metadata()).width).toBe(56); // 50 snaps up to Discord's 56 bucket
  });

  it('refuses emoji over 256 KiB with 413 emoji_too_large', async () => {
    const noise = await sharp({
      create: {
        width: 400,
        height: 400,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 80 },
      },
    })
      .png()
      .toBuffer();
    expect(noise.length).toBeGreaterThan(256 * 1024);
    const r = await upload('/emojis', 'big.png', noise);
    expect(r.status).toBe(413);
    expect((r.body.error as { code: string }).code).toBe('emoji_too_large');
  });

  it('prefixes animated avatar hashes with a_ and serves square sizes; animated WebP → GIF is 415', async () => {
    const anim = await upload(`/avatars/${USER}`, 'animated.webp');
    expect(anim.body.avatar).toMatch(/^a_[0-9a-f]{32}$/);
    const still = await upload(`/avatars/${USER}`, 'photo.jpg');
    expect(still.body.avatar).toMatch(/^[0-9a-f]{32}$/);
    const sq = await get(`/avatars/${USER}/${still.body.avatar as string}.png?size=64`);
    expect((await sharp(sq.body).metadata()).width).toBe(64);
    expect((await sharp(sq.body).metadata()).height).toBe(64);
    const gif = await get(`/avatars/${USER}/${anim.body.avatar as string}.gif`);
    expect(gif.res.status).toBe(415);
    expect(gif.json().error.code).toBe('gif_conversion_unsupported');
    expect(gif.res.headers.get('etag')).toBeNull(); // an error must not look like a cacheable representation
    expect(gif.res.headers.get('cache-control')).toBe('no-store');
    expect((await get(`/avatars/${USER}/${'0'.repeat(32)}.png`)).res.status).toBe(404);
  });
});

describe('bad uploads get clear errors, are counted, and the server keeps serving', () => {
  it.each([
    ['image.svg', 415, 'svg_refused'],
    ['bomb.webp', 413, 'too_many_pixels'],
    ['garbage.bin', 415, 'unsupported_format'],
    ['truncated.png', 422, 'truncated_image'],
  ])('%s → %d %s', async (name, status, code) => {
    const r = await upload(`/attachments/${CHANNEL}`, name);
    expect(r.status).toBe(status);
    expect((r.body.error as { code: string }).code).toBe(code);
    const metrics = await (await fetch(`${internalBase}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`resound_media_proxy_rejections_total\\{code="${code}"\\} [1-9]`));
    const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; redis: string; gifsicle: boolean };
    expect(health).toMatchObject({ ok: true, redis: 'PONG', gifsicle: true });
  });
});

describe('resound start proxy', () => {
  it('starts on an ephemeral port, logs listening, serves /healthz and closes', async () => {
    const dataDir = tempDir('start');
    const env = {
      MEDIA_PROXY_PORT: '0',
      MEDIA_PROXY_INTERNAL_PORT: '0',
      RESOUND_DATA_DIR: dataDir,
      MEDIA_PROXY_REDIS_PREFIX: `test:mp:start:${process.pid}:`,
    };
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const running = await start({
      env,
      common: loadCommonConfig(env),
      logger: pino({ level: 'silent' }),
      redis: async () => ({ url: redisUrl, close: async () => {} }),
    });
    expect(running.name).toBe('proxy');
    const res = await fetch(`${running.urls.http}/healthz`);
    expect(((await res.json()) as { part: string }).part).toBe('proxy');
    await running.close();
    const r = redisClient();
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });
});

describe('malformed uploads', () => {
  it('a truncated multipart body is a 400 with a stable code, not a 500', async () => {
    const boundary = '----resoundbroken';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG`;
    const res = await fetch(`${base}/avatars/${USER}`, {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
  });
});
