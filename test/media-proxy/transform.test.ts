import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { detectImage, normalizeRequest, transformImage } from '../../media-proxy/index.ts';
import { GifsiclePool } from '../../media-proxy/transform/gifsicle-pool.ts';
import { fixture, pixels, rejectsWithCode } from './helpers.ts';
import { isMediaError } from '../../media-proxy/index.ts';
import { prng } from '../../testkit/index.ts';

const MAGIC: Record<string, (b: Buffer) => boolean> = {
  jpeg: (b) => b[0] === 0xff && b[1] === 0xd8,
  png: (b) => b.toString('latin1', 1, 4) === 'PNG',
  webp: (b) => b.toString('latin1', 8, 12) === 'WEBP',
  avif: (b) => b.toString('latin1', 4, 12) === 'ftypavif',
  gif: (b) => b.toString('latin1', 0, 3) === 'GIF',
};

describe('resize and convert', () => {
  it.each(['webp', 'avif', 'png', 'jpeg', 'gif'] as const)('photo.jpg → %s fit inside 100×100', async (format) => {
    const r = await transformImage(fixture('photo.jpg'), { format, width: 100, height: 100 });
    expect(MAGIC[format](r.data)).toBe(true);
    expect(r).toMatchObject({ format, width: 100, height: 66, frames: 1, isAnimated: false });
    const d = detectImage(r.data);
    expect([d.width, d.height]).toEqual([100, 66]);
    expect(r.contentType).toBe(`image/${format}`);
  });

  it('cover crops to the exact box, contain pads, inside keeps aspect, and nothing is enlarged', async () => {
    const src = fixture('photo.jpg');
    expect(await transformImage(src, { format: 'png', width: 100, height: 100, fit: 'cover' })).toMatchObject({
      width: 100,
      height: 100,
    });
    const contain = await transformImage(src, { format: 'png', width: 100, height: 100, fit: 'contain' });
    expect(contain).toMatchObject({ width: 100, height: 100 });
    const p = await pixels(contain.data);
    expect(p.channels).toBe(4);
    expect(p.at(50, 0)[3]).toBe(0); // letterbox is transparent
    expect(await transformImage(src, { format: 'png', width: 2000 })).toMatchObject({ width: 320, height: 213 });
  });

  it('applies EXIF orientation: the stored left (red) half ends up on top', async () => {
    const r = await transformImage(fixture('exif-rotated.jpg'), { format: 'png' });
    expect([r.width, r.height]).toEqual([80, 120]);
    const p = await pixels(r.data);
    const top = p.at(40, 10);
    const bottom = p.at(40, 110);
    expect(top[0]).toBeGreaterThan(180);
    expect(top[2]).toBeLessThan(80);
    expect(bottom[2]).toBeGreaterThan(180);
    expect(bottom[0]).toBeLessThan(80);
  });

  it.each(['exif-rotated.png', 'rotated.avif'])(
    '%s: PNG eXIf and AVIF irot orientation count too, for sizing and pixels',
    async (name) => {
      const d = detectImage(fixture(name));
      expect(d.orientation).toBe(6);
      // displayed 80×120: 100 is a real resize
      expect(normalizeRequest({ format: 'png', height: 100 }, d).height).toBe(100);
      const r = await transformImage(fixture(name), { format: 'png', height: 100 });
      expect([r.width, r.height]).toEqual([67, 100]);
      const p = await pixels(r.data);
      expect(p.at(33, 10)[0]).toBeGreaterThan(150);
      expect(p.at(33, 90)[2]).toBeGreaterThan(150);
    },
  );

  it('converts CMYK JPEG to sRGB with colours close to the RGB original', async () => {
    const r = await transformImage(fixture('cmyk.jpg'), { format: 'jpeg', quality: 95 });
    const meta = await sharp(r.data).metadata();
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
    const a = await pixels(r.data);
    const b = await pixels((await transformImage(fixture('photo.jpg'), { format: 'jpeg', quality: 95 })).data);
    let diff = 0;
    for (let i = 0; i < a.data.length; i += 97) diff += Math.abs(a.data[i] - b.data[i]);
    expect(diff / (a.data.length / 97)).toBeLessThan(25);
  });

  it('converts an embedded wide-gamut (Display P3) profile to sRGB instead of reading numbers as sRGB', async () => {
    expect(detectImage(fixture('p3.png')).hasIcc).toBe(true);
    const stored = Array.from((await sharp(fixture('p3.png'), { ignoreIcc: true }).raw().toBuffer()).subarray(0, 3));
    const p = await pixels((await transformImage(fixture('p3.png'), { format: 'png' })).data);
    const out = p.at(16, 16);
    [204, 128, 77].forEach((v, i) => expect(Math.abs(out[i] - v)).toBeLessThanOrEqual(2));
    expect(Math.abs(stored[0] - out[0]) + Math.abs(stored[1] - out[1]) + Math.abs(stored[2] - out[2])).toBeGreaterThan(
      15,
    );
  });

  it('honours quality presets and lossless', async () => {
    const src = fixture('photo.jpg');
    const low = await transformImage(src, { format: 'webp', quality: 20 });
    const high = await transformImage(src, { format: 'webp', quality: 95 });
    expect(low.data.length).toBeLessThan(high.data.length);
    const lossless = await transformImage(fixture('photo.png'), { format: 'webp', quality: 'lossless' });
    const a = await sharp(fixture('photo.png')).raw().toBuffer();
    const b = await sharp(lossless.data).removeAlpha().raw().toBuffer();
    expect(b.equals(a)).toBe(true);
  });

  it('flattens alpha onto white for JPEG and keeps it for WebP', async () => {
    const jpeg = await pixels((await transformImage(fixture('photo-alpha.png'), { format: 'jpeg' })).data);
    expect(jpeg.channels).toBe(3);
    const webp = await pixels(
      (await transformImage(fixture('photo-alpha.png'), { format: 'webp', quality: 'lossless' })).data,
    );
    expect(Math.abs(webp.at(5, 5)[3] - 128)).toBeLessThanOrEqual(1);
  });

  it('converts an opaque JPEG with no alpha step: the same bytes as a plain decode → resize → encode', async () => {
    const src = fixture('photo.jpg');
    const ours = await transformImage(src, { format: 'jpeg', width: 100, height: 100, quality: 80 });
    const plain = await sharp(src, { autoOrient: true })
      .resize({ width: 100, height: 100, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .jpeg({ quality: 80, chromaSubsampling: '4:2:0' })
      .toBuffer();
    expect(ours.data.equals(plain)).toBe(true);
  });
});

describe('animation', () => {
  it.each(['animated.gif', 'animated.webp', 'animated.png'])(
    '%s → animated WebP keeps frames and timing',
    async (name) => {
      const r = await transformImage(fixture(name), { format: 'webp', width: 48 });
      expect(r).toMatchObject({ width: 48, height: 32, frames: 4, isAnimated: true });
      const meta = await sharp(r.data, { animated: true }).metadata();
      expect(meta.pages).toBe(4);
      expect(meta.delay).toEqual([100, 200, 300, 400]);
      expect(meta.loop).toBe(name === 'animated.webp' ? 3 : 0);
    },
  );

  it('an AVIF sequence (sharp cannot read it) becomes animated WebP through avifdec, or its first frame', async () => {
    const r = await transformImage(fixture('animated.avif'), { format: 'webp', width: 48 });
    expect(r).toMatchObject({ width: 48, height: 32, frames: 4, isAnimated: true });
    expect((await sharp(r.data, { animated: true }).metadata()).delay).toEqual([200, 200, 200, 200]);
    const still = await transformImage(fixture('animated.avif'), { format: 'png', animated: false });
    expect(still).toMatchObject({ width: 96, height: 64, frames: 1 });
    const p = await pixels(still.data);
    expect(p.at(12, 32)[0]).toBeGreaterThan(200); // frame 0: the red disc on the left
  });

  it('APNG frames are composited, not the single default image sharp would read', async () => {
    const r = await transformImage(fixture('animated.png'), { format: 'webp', quality: 'lossless' });
    const frames = await sharp(r.data, { animated: true }).raw().toBuffer({ resolveWithObject: true });
    const pageBytes = 96 * 64 * 4;
    // The red disc moves left to right: at x=12 it is present in frame 0 only.
    const px = (f: number, x: number, y: number) => frames.data[f * pageBytes + (y * 96 + x) * 4];
    expect(px(0, 12, 32)).toBe(250);
    expect(px(3, 12, 32)).not.toBe(250);
    expect(px(3, 84, 32)).toBe(250);
  });

  it('an APNG with more frames than its acTL declares is refused: it cannot outgrow the checked limits', async () => {
    const apng = fixture('animated.png');
    const at = apng.indexOf(Buffer.from('acTL'));
    const forged = Buffer.from(apng);
    forged.writeUInt32BE(2, at + 4); // declare 2 of the 4 frames (CRC left stale: decoders here do not check it)
    expect(detectImage(forged).frames).toBe(2);
    await rejectsWithCode(transformImage(forged, { format: 'webp' }), 'corrupt_image');
  });

  it('animated=false serves the first frame (reduced motion)', async () => {
    const r = await transformImage(fixture('animated.gif'), { format: 'webp', animated: false });
    expect(r).toMatchObject({ frames: 1, isAnimated: false });
    expect(detectImage(r.data).isAnimated).toBe(false);
  });

  it('GIF → GIF goes through gifsicle, keeps every frame and shrinks with lossy', async () => {
    const src = fixture('anim-1.gif');
    const r = await transformImage(src, { format: 'gif', width: 100 });
    expect(r).toMatchObject({ format: 'gif', width: 100, height: 75, frames: 8, isAnimated: true });
    const lossy = await transformImage(src, { format: 'gif', width: 100, quality: 60 });
    expect(lossy.data.length).toBeLessThan(r.data.length);
    const first = await transformImage(src, { format: 'gif', animated: false });
    expect(first.frames).toBe(1);
    const cover = await transformImage(src, { format: 'gif', width: 50, height: 50, fit: 'cover' });
    expect([cover.width, cover.height]).toEqual([50, 50]);
  });

  it('without gifsicle, GIF output fails alone with gifsicle_unavailable (503) while other formats work', async () => {
    const none = new GifsiclePool({
      binary: '/nonexistent/gifsicle',
      size: 1,
      queueSize: 1,
      timeoutMs: 5000,
      maxOutputBytes: 1e7,
    });
    expect(none.available).toBe(false);
    const e = await rejectsWithCode(
      transformImage(fixture('animated.gif'), { format: 'gif' }, {}, { gifsicle: none }),
      'gifsicle_unavailable',
    );
    expect(e.statusCode).toBe(503);
    const ok = await transformImage(fixture('animated.gif'), { format: 'webp' }, {}, { gifsicle: none });
    expect(ok.isAnimated).toBe(true);
  });

  it('kills a gifsicle job past its timeout (503 transform_timeout), and the pool keeps working', async () => {
    const slow = new GifsiclePool({ size: 1, queueSize: 1, timeoutMs: 1, maxOutputBytes: 1e7 });
    await rejectsWithCode(
      slow.run(fixture('anim-1.gif'), {
        fit: 'inside',
        width: 100,
        sourceWidth: 200,
        sourceHeight: 150,
        lossy: 80,
        firstFrameOnly: false,
      }),
      'transform_timeout',
    );
    const ok = new GifsiclePool({ size: 1, queueSize: 1, timeoutMs: 10_000, maxOutputBytes: 1e7 });
    const out = await ok.run(fixture('anim-1.gif'), {
      fit: 'inside',
      width: 100,
      sourceWidth: 200,
      sourceHeight: 150,
      lossy: 0,
      firstFrameOnly: false,
    });
    expect(detectImage(out)).toMatchObject({ width: 100, frames: 8 });
    await rejectsWithCode(
      ok.run(fixture('garbage.bin'), {
        fit: 'inside',
        sourceWidth: 96,
        sourceHeight: 64,
        lossy: 0,
        firstFrameOnly: false,
      }),
      'corrupt_image',
    );
  });

  it('animated WebP/APNG → GIF is refused with 415, like Discord', async () => {
    const e = await rejectsWithCode(
      transformImage(fixture('animated.webp'), { format: 'gif' }),
      'gif_conversion_unsupported',
    );
    expect(e.statusCode).toBe(415);
    await rejectsWithCode(transformImage(fixture('animated.png'), { format: 'gif' }), 'gif_conversion_unsupported');
    expect((await transformImage(fixture('still.gif'), { format: 'webp' })).isAnimated).toBe(false);
  });
});

describe('protection', () => {
  it('refuses pixel bombs from the header, before decoding', async () => {
    const e = await rejectsWithCode(transformImage(fixture('bomb.webp'), { format: 'webp' }), 'too_many_pixels');
    expect(e.statusCode).toBe(413);
    await rejectsWithCode(transformImage(fixture('bomb.png'), { format: 'png' }), 'too_many_pixels');
    await rejectsWithCode(
      transformImage(fixture('photo.jpg'), { format: 'png' }, { maxPixels: 10_000 }),
      'too_many_pixels',
    );
  });

  it('refuses oversized input, too many frames, oversized canvases and bad requests', async () => {
    await rejectsWithCode(
      transformImage(fixture('photo.jpg'), { format: 'png' }, { maxInputBytes: 1000 }),
      'input_too_large',
    );
    await rejectsWithCode(
      transformImage(fixture('animated.gif'), { format: 'webp' }, { maxFrames: 3 }),
      'too_many_frames',
    );
    await rejectsWithCode(
      transformImage(fixture('photo.jpg'), { format: 'png' }, { maxDimension: 300 }),
      'dimension_too_large',
    );
    await rejectsWithCode(transformImage(fixture('photo.jpg'), { format: 'png', width: 99999 }), 'bad_request');
    await rejectsWithCode(transformImage(fixture('photo.jpg'), { format: 'bmp' as 'png' }), 'bad_request');
    await rejectsWithCode(transformImage(fixture('photo.jpg'), { format: 'png', quality: 0 }), 'bad_request');
  });

  it('refuses truncated, corrupt, SVG and HEIC input with stable codes', async () => {
    await rejectsWithCode(transformImage(fixture('truncated.jpg'), { format: 'png' }), 'corrupt_image');
    await rejectsWithCode(transformImage(fixture('truncated.png'), { format: 'png' }), 'truncated_image');
    await rejectsWithCode(transformImage(fixture('image.svg'), { format: 'png' }), 'svg_refused');
    const heic = await rejectsWithCode(transformImage(fixture('image.heic'), { format: 'png' }), 'unsupported_format');
    expect(heic.statusCode).toBe(415);
  });

  it('stops a transform past its time budget with transform_timeout (503), and the next one still works', async () => {
    const e = await rejectsWithCode(
      transformImage(fixture('photo.jpg'), { format: 'avif', quality: 90 }, { timeoutMs: 1, avifEffort: 9 }),
      'transform_timeout',
    );
    expect(e.statusCode).toBe(503);
    expect((await transformImage(fixture('photo.jpg'), { format: 'webp', width: 64 })).width).toBe(64);
  });
});

describe('transform fuzzing: damaged animations only ever yield a result or a MediaError', () => {
  it.each(['animated.png', 'animated.gif', 'animated.webp', 'pq.png'])('%s', async (name) => {
    const original = fixture(name);
    const rnd = prng(name.length * 104729);
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(original);
      for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++)
        b[8 + Math.floor(rnd() * (b.length - 8))] = Math.floor(rnd() * 256);
      try {
        const r = await transformImage(b, { format: 'webp', width: 48 });
        expect(r.data.length).toBeGreaterThan(0);
        ok++;
      } catch (err) {
        if (!isMediaError(err)) throw err;
        expect(err.statusCode).toBeGreaterThanOrEqual(400);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(ok + refused).toBe(40);
  });
});
