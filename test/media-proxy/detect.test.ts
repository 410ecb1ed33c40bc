import { describe, expect, it } from 'vitest';
import { detectImage, isMediaError, MediaError } from '../../media-proxy/index.ts';
import { fixture } from './helpers.ts';
import { prng } from '../../testkit/index.ts';

describe('detectImage: formats, dimensions, frames', () => {
  const cases: [string, string, number, number, number, boolean][] = [
    ['photo.jpg', 'jpeg', 320, 213, 1, false],
    ['photo.png', 'png', 160, 107, 1, false],
    ['photo.webp', 'webp', 320, 213, 1, false],
    ['photo.avif', 'avif', 320, 213, 1, false],
    ['animated.gif', 'gif', 96, 64, 4, true],
    ['still.gif', 'gif', 96, 64, 1, false],
    ['animated.webp', 'webp', 96, 64, 4, true],
    ['animated.png', 'apng', 96, 64, 4, true],
    ['sequence.avif', 'avif', 64, 48, 12, true],
    ['animated.avif', 'avif', 96, 64, 4, true],
    ['image.heic', 'heic', 4032, 3024, 1, false],
    ['rgb16.png', 'png', 256, 16, 1, false],
  ];
  it.each(cases)('%s → %s %d×%d, %d frames', (name, format, width, height, frames, animated) => {
    const d = detectImage(fixture(name));
    expect(d).toMatchObject({ format, width, height, frames, isAnimated: animated });
  });

  it('reads loop counts, alpha, bit depth, colour model and EXIF orientation', () => {
    expect(detectImage(fixture('animated.webp')).loop).toBe(3);
    expect(detectImage(fixture('animated.gif')).loop).toBe(0);
    expect(detectImage(fixture('animated.avif')).delays).toEqual([200, 200, 200, 200]);
    expect(detectImage(fixture('photo-alpha.png')).hasAlpha).toBe(true);
    expect(detectImage(fixture('photo.jpg')).hasAlpha).toBe(false);
    expect(detectImage(fixture('rgb16.png')).bitDepth).toBe(16);
    expect(detectImage(fixture('pq.avif')).bitDepth).toBe(12);
    expect(detectImage(fixture('pq-avifenc.avif')).bitDepth).toBe(10);
    expect(detectImage(fixture('cmyk.jpg')).colorModel).toBe('cmyk');
    expect(detectImage(fixture('exif-rotated.jpg')).orientation).toBe(6);
    expect(detectImage(fixture('photo.jpg')).contentType).toBe('image/jpeg');
  });
});

describe('detectImage: HDR signalling', () => {
  it('reads the AVIF colr nclx box plus clli and mdcv', () => {
    const d = detectImage(fixture('hdr10-meta.avif'));
    expect(d.hdr).toMatchObject({
      isHdr: true,
      transfer: 'pq',
      primaries: 'bt2020',
      source: 'nclx',
      maxCll: 1000,
      maxFall: 400,
      masteringMaxLuminance: 4000,
    });
    expect(d.hdr.cicp).toEqual({ primaries: 9, transfer: 16, matrix: 9, fullRange: true });
    expect(detectImage(fixture('hlg.avif')).hdr).toMatchObject({ isHdr: true, transfer: 'hlg', source: 'nclx' });
    expect(detectImage(fixture('pq-avifenc.avif')).hdr).toMatchObject({
      isHdr: true,
      transfer: 'pq',
      primaries: 'bt2020',
    });
  });

  it('reads the PNG cICP chunk with cLLi/mDCv peak luminance', () => {
    const d = detectImage(fixture('pq.png'));
    expect(d.hdr).toMatchObject({
      isHdr: true,
      transfer: 'pq',
      primaries: 'bt2020',
      source: 'cicp-chunk',
      maxCll: 1000,
      maxFall: 400,
      masteringMaxLuminance: 1000,
    });
    expect(detectImage(fixture('hlg.png')).hdr).toMatchObject({ isHdr: true, transfer: 'hlg', source: 'cicp-chunk' });
    expect(detectImage(fixture('pq-nometa.png')).hdr.maxCll).toBeUndefined();
  });

  it('reads the ICC cicp tag inside a JPEG APP2 profile', () => {
    expect(detectImage(fixture('pq-icc.jpg')).hdr).toMatchObject({ isHdr: true, transfer: 'pq', source: 'icc-cicp' });
  });

  it('reports SDR images as not HDR', () => {
    for (const f of ['photo.jpg', 'photo.png', 'photo.avif', 'rgb16.png'])
      expect(detectImage(fixture(f)).hdr.isHdr).toBe(false);
  });
});

describe('detectImage: refusals carry stable codes', () => {
  it.each([
    ['truncated.jpg', 'corrupt_image'],
    ['truncated.png', 'truncated_image'],
    ['truncated.gif', 'truncated_image'],
    ['truncated.webp', 'corrupt_image'],
    ['truncated.avif', 'truncated_image'],
    ['corrupt.png', 'corrupt_image'],
    ['garbage.bin', 'unsupported_format'],
    ['image.svg', 'svg_refused'],
  ])('%s → %s', (name, code) => {
    let caught: unknown;
    try {
      detectImage(fixture(name));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MediaError);
    expect((caught as MediaError).code).toBe(code);
    expect((caught as MediaError).statusCode).toBeGreaterThanOrEqual(400);
  });

  it('sees a pixel bomb from its header: the 92-byte WebP declares a 16383×16383 animated canvas', () => {
    const bomb = fixture('bomb.webp');
    expect(bomb.length).toBe(92);
    expect(detectImage(bomb)).toMatchObject({ width: 16383, height: 16383, frames: 2, isAnimated: true });
    expect(detectImage(fixture('bomb.png'))).toMatchObject({ width: 12000, height: 12000 });
  });
});

describe('detectImage fuzzing: truncations and byte flips only ever yield a result or a MediaError', () => {
  const names = [
    'photo.jpg',
    'photo.png',
    'photo.webp',
    'photo.avif',
    'animated.gif',
    'animated.webp',
    'animated.png',
    'pq.png',
    'hdr10-meta.avif',
    'sequence.avif',
    'pq-icc.jpg',
    'image.heic',
  ];
  it.each(names)('%s', (name) => {
    const original = fixture(name);
    const rnd = prng(name.length * 7919);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      let b: Buffer;
      if (i % 3 === 0) b = original.subarray(0, Math.floor(rnd() * original.length));
      else {
        b = Buffer.from(original.subarray(0, Math.min(original.length, 4096)));
        const flips = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      }
      try {
        const d = detectImage(b);
        expect(d.width).toBeGreaterThan(0);
        expect(d.frames).toBeGreaterThan(0);
      } catch (err) {
        if (!isMediaError(err)) throw err;
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
