import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, seedFrom, type Rng } from '../../common/rng.ts';
import { fixture, makeProxy, multipartBody, type TestProxy } from './helpers.ts';

/** The query edge of every GET route: one value per parameter, one range rule, one cache key per output. */
let t: TestProxy;
const CHANNEL = '1300000000000000001';
const USER = '1300000000000000002';
let attachment: string; // signed URL path + query
let square: string; // signed URL of a 1024² source
let wide: string; // signed URL of a 4200×8 source (wider than any allowed output)
let emoji: string;
let avatar: string;

async function upload(url: string, data: Buffer, name: string): Promise<Record<string, string>> {
  const { body, headers } = multipartBody(data, name);
  const res = await t.app.inject({ method: 'POST', url, payload: body, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, string>>();
}

const relative = (u: string) => {
  const x = new URL(u);
  return `${x.pathname}${x.search}`;
};

const get = (url: string) => t.app.inject({ method: 'GET', url });

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await t.service.registry.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
}

beforeAll(async () => {
  t = await makeProxy();
  attachment = relative((await upload(`/attachments/${CHANNEL}`, fixture('photo.jpg'), 'photo.jpg')).url);
  const solid = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .png()
      .toBuffer();
  square = relative((await upload(`/attachments/${CHANNEL}`, await solid(1024, 1024), 'sq.png')).url);
  wide = relative((await upload(`/attachments/${CHANNEL}`, await solid(4200, 8), 'wide.png')).url);
  emoji = `/emojis/${(await upload('/emojis', fixture('anim-1.gif'), 'e.gif')).id}.webp`;
  avatar = `/avatars/${USER}/${(await upload(`/avatars/${USER}`, fixture('photo.jpg'), 'a.jpg')).avatar}.png`;
});
afterAll(async () => t.close());

const join = (base: string, q: string) => `${base}${base.includes('?') ? '&' : '?'}${q}`;
const PARAMS = ['width', 'height', 'size', 'format', 'quality', 'animated', 'keep_aspect_ratio', 'fit'];

describe('repeated and array-shaped parameters', () => {
  it('every route answers 400 naming the parameter, counts it, and keeps serving', async () => {
    const before = await counter('resound_media_proxy_rejections_total', { code: 'bad_request' });
    let refused = 0;
    for (const base of [attachment, emoji, avatar]) {
      for (const p of PARAMS) {
        const value = p === 'format' ? 'webp' : p === 'fit' ? 'cover' : p === 'animated' ? 'true' : '64';
        for (const q of [`${p}=${value}&${p}=${value}`, `${p}=${value}&${p}=png&${p}=`, `${p}[]=${value}`]) {
          const r = await get(join(base, q));
          expect(r.statusCode, `${base} ${q}`).toBe(400);
          expect(r.json()).toMatchObject({ error: { code: 'bad_request' } });
          expect(r.json<{ error: { message: string } }>().error.message).toContain(`"${p}"`);
          refused++;
        }
      }
    }
    // The signature parameters too: a repeated `hm` is a 400, not a signature failure.
    const dup = await get(join(attachment, `hm=${'a'.repeat(64)}`));
    expect(dup.statusCode).toBe(400);
    expect(dup.json<{ error: { message: string } }>().error.message).toContain('"hm"');
    refused++;
    expect(await counter('resound_media_proxy_rejections_total', { code: 'bad_request' })).toBe(before + refused);
    expect((await get(join(attachment, 'format=webp&width=64'))).statusCode).toBe(200);
  });

  it('logs refusals rate-limited: ten bad queries, one warning line', async () => {
    const lines: { msg: string; code: string; reason: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const own = await makeProxy({}, { logger });
    try {
      for (let i = 0; i < 10; i++) {
        const r = await own.app.inject({ method: 'GET', url: `/emojis/1300000000000000009.png?size=${i}&size=1` });
        expect(r.statusCode).toBe(400);
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg: 'media request refused', code: 'bad_request' });
      expect(lines[0].reason).toContain('"size"');
    } finally {
      await own.close();
    }
  });

  it('the README case: format=webp&format=png and even format=webp&format=webp are 400, not 500', async () => {
    for (const q of ['format=webp&format=png', 'format=webp&format=webp']) {
      const r = await get(join(attachment, q));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({
        error: { code: 'bad_request', message: 'query parameter "format" was given 2 times; give it once' },
      });
    }
  });
});

/** Values that have broken query parsers: repeated, empty, huge, non-ASCII, malformed escapes, look-alike digits. */
function fuzzValue(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  return pick([
    () =>
      pick(['1', '16', '64', '100', '300', '4096', 'webp', 'png', 'jpg', 'avif', 'gif', 'true', 'false', 'lossless']),
    () => pick(['cover', 'inside', 'contain', '50', '75', '0', '-1', '4097', '99999', '1e3', '0x40', ' 64', '64 ']),
    () => '',
    () => encodeURIComponent('x'.repeat(100 + Math.floor(rng() * 4000))),
    () => '9'.repeat(1 + Math.floor(rng() * 40)),
    () => encodeURIComponent(pick(['١٢٨', '１２８', 'ＷＥＢＰ', '💥', 'wébp', '\u0000', '\u202e64', 'ß', '𝟔𝟒'])),
    () => pick(['%', '%F', '%FF', '%E2%82', '%C0%AF', '%00', '%2', '%%', '+', '%20']),
    () =>
      Array.from({ length: 1 + Math.floor(rng() * 8) }, () => String.fromCharCode(33 + Math.floor(rng() * 94)))
        .map((c) => (/[A-Za-z0-9]/.test(c) ? c : encodeURIComponent(c)))
        .join(''),
  ])();
}

describe('query parser fuzz (seeded)', () => {
  it('repeated, empty, huge and non-ASCII values never answer 500; repeats are always a 400 naming the parameter', async () => {
    const rng = createRng(seedFrom('media-proxy', 'query-fuzz'));
    const keys = [...PARAMS, 'foo', 'width[]', 'format[0]', '__proto__', 'constructor', 'x%5B%5D'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 240; i++) {
      const pairs: string[] = [];
      const seen = new Map<string, number>();
      const n = Math.floor(rng() * 5);
      for (let k = 0; k < n; k++) {
        const key =
          rng() < 0.25 && pairs.length
            ? pairs[Math.floor(rng() * pairs.length)].split('=')[0]
            : keys[Math.floor(rng() * keys.length)];
        seen.set(key, (seen.get(key) ?? 0) + 1);
        pairs.push(`${key}=${fuzzValue(rng)}`);
      }
      const base = [attachment, emoji, avatar][i % 3];
      const url = join(base, pairs.join('&'));
      const r = await get(url);
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      expect(r.statusCode, url).toBeLessThan(500);
      const repeated = [...seen].find(([k, c]) => PARAMS.includes(k) && c > 1);
      const arrayShaped = [...seen.keys()].find((k) => PARAMS.includes(k.split('[')[0]) && k.includes('['));
      const culprit = repeated?.[0] ?? arrayShaped?.split('[')[0];
      if (culprit) {
        expect(r.statusCode, url).toBe(400);
        expect(r.json<{ error: { message: string } }>().error.message, url).toMatch(/^query parameter "/);
      }
    }
    // The corpus exercises both sides: accepted requests and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(10);
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  }, 120_000);
});

describe('width, height and size: one rule, 1…4096, before any decode', () => {
  it('refuses out-of-range sizes even when the source is larger, without a transform', async () => {
    const transforms = await counter('resound_media_proxy_transforms_total');
    for (const q of ['width=4097', 'width=99999', 'height=4097', 'size=4097', 'size=5000', 'width=0', 'height=0']) {
      const r = await get(join(wide, `${q}&format=png`));
      expect(r.statusCode, q).toBe(400);
      const name = q.split('=')[0];
      expect(r.json()).toEqual({ error: { code: 'bad_request', message: `${name} must be an integer 1…4096` } });
    }
    expect(await counter('resound_media_proxy_transforms_total')).toBe(transforms);
    const max = await get(join(wide, 'width=4096&format=png'));
    expect(max.statusCode).toBe(200);
    expect((await sharp(max.rawPayload).metadata()).width).toBe(4096);
  });
});

describe('equivalent requests share one cache key', () => {
  it('width=512&height=512 and width=512 on a square source: one ETag, one cache entry, one transform', async () => {
    const entries = async () => t.redis.zcard(`${t.prefix}lru`);
    await t.service.flush(); // earlier tests' cache writes must not land inside this count
    const before = await entries();
    const transforms = await counter('resound_media_proxy_transforms_total');
    const variants = [
      'width=512&format=webp',
      'width=512&height=512&format=webp',
      'height=512&format=webp',
      'width=512&height=900&format=webp', // inside: only the tighter side binds
      'width=512&height=512&fit=cover&format=webp', // the source's own aspect: nothing to crop
      'width=512&height=512&keep_aspect_ratio=false&format=webp',
    ];
    const etags = new Set<string>();
    for (const q of variants) {
      const r = await get(join(square, q));
      expect(r.statusCode, q).toBe(200);
      expect((await sharp(r.rawPayload).metadata()).width, q).toBe(512);
      etags.add(String(r.headers.etag));
      await t.service.flush();
    }
    expect(etags.size).toBe(1);
    expect((await entries()) - before).toBe(1);
    expect((await counter('resound_media_proxy_transforms_total')) - transforms).toBe(1);
  });

  it('keeps requests apart when their output differs (a crop to another aspect ratio)', async () => {
    const a = await get(join(square, 'width=512&height=256&fit=cover&format=webp'));
    const b = await get(join(square, 'width=512&format=webp'));
    expect(a.headers.etag).not.toBe(b.headers.etag);
    const m = await sharp(a.rawPayload).metadata();
    expect([m.width, m.height]).toEqual([512, 256]);
  });
});
