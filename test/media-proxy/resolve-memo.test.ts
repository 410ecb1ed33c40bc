import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import { signedUrl } from '../../media-proxy/index.ts';
import { ResolveMemo, acceptClass, type Resolution } from '../../media-proxy/routes/resolve-memo.ts';
import { fixture, makeProxy, multipartBody, type TestProxy } from './helpers.ts';

const CHANNEL = '1300000000000000003';

describe('ResolveMemo', () => {
  it('keys on the Accept class only and keeps at most its bound, oldest out first', () => {
    expect(acceptClass(undefined)).toBe('');
    expect(acceptClass('text/html,*/*')).toBe('');
    expect(acceptClass('image/WEBP,*/*')).toBe('w');
    expect(acceptClass('image/avif,image/webp,*/*')).toBe('aw');
    expect(ResolveMemo.keyOf('/a?x=1', 'image/webp;q=0.9')).toBe(ResolveMemo.keyOf('/a?x=1', 'IMAGE/WEBP'));
    expect(ResolveMemo.keyOf('/a?x=1', 'image/webp')).not.toBe(ResolveMemo.keyOf('/a?x=1', '*/*'));
    const memo = new ResolveMemo(3);
    const r = { key: 'k' } as Resolution;
    for (const k of ['a', 'b', 'c', 'd']) memo.set(k, r);
    expect(memo.size).toBe(3);
    expect(memo.get('a')).toBeUndefined();
    expect(memo.get('d')).toBe(r);
    memo.set('d', r); // replacing an entry evicts nothing
    expect(memo.size).toBe(3);
    expect(memo.get('b')).toBe(r);
  });
});

describe('repeated URLs reuse their resolution without changing any answer', () => {
  let t: TestProxy;
  beforeAll(async () => {
    t = await makeProxy({ MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'true' });
  });
  afterAll(async () => t.close());
  afterEach(() => vi.useRealTimers());

  async function upload(name: string): Promise<{ url: string; pathname: string }> {
    const { body, headers } = multipartBody(fixture(name), name);
    const res = await t.app.inject({ method: 'POST', url: `/attachments/${CHANNEL}`, payload: body, headers });
    expect(res.statusCode).toBe(200);
    const u = new URL(res.json<{ url: string }>().url);
    return { url: u.pathname + u.search, pathname: u.pathname };
  }

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

  it('negotiates each Accept class separately on the same URL, every time', async () => {
    const { url } = await upload('photo.jpg');
    const accepts = { avif: 'image/avif,image/webp,*/*', webp: 'image/webp,*/*', jpeg: '*/*' };
    const first: Record<string, string> = {};
    for (let round = 0; round < 2; round++) {
      for (const [format, accept] of Object.entries(accepts)) {
        const res = await get(`${url}&width=48`, { accept });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe(`image/${format}`);
        expect(res.headers.vary).toBe('Accept');
        if (round === 0) first[format] = String(res.headers.etag);
        else expect(res.headers.etag).toBe(first[format]);
      }
    }
    expect(new Set(Object.values(first)).size).toBe(3);
  });

  it('still checks the signature of a memoised URL: once expired it is refused', async () => {
    const { pathname } = await upload('photo.jpg');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const url = new URL(signedUrl(t.service.config.signingSecret, 'http://x', pathname, 60));
    const path = `${url.pathname}${url.search}&width=40&format=webp`;
    expect((await get(path)).statusCode).toBe(200);
    expect((await get(path)).headers['x-resound-cache']).toBe('hit');
    vi.setSystemTime(Date.now() + 120_000);
    const late = await get(path);
    expect(late.statusCode).toBe(404);
    expect(late.json<{ error: { code: string } }>().error.code).toBe('content_expired');
  });

  it('resolves afresh when the asset behind a URL is replaced', async () => {
    const { url, pathname } = await upload('photo.jpg');
    const before = await get(`${url}&width=32&format=png`);
    expect(before.statusCode).toBe(200);
    expect((await get(`${url}&width=32&format=png`)).headers.etag).toBe(before.headers.etag);
    // The same ref key now names another original (a different picture with another aspect ratio).
    const other = fixture('photo-alpha.png');
    const d = t.service.inspect(other);
    await t.service.storeOriginal(
      'attachment',
      other,
      d,
      () => pathname.slice(1, pathname.lastIndexOf('/')),
      'photo.jpg',
    );
    const after = await get(`${url}&width=32&format=png`);
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    const [a, b] = await Promise.all([sharp(before.rawPayload).metadata(), sharp(after.rawPayload).metadata()]);
    expect(a.hasAlpha).toBe(false);
    expect(b.hasAlpha).toBe(true);
  });
});
