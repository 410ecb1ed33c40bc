import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { eetf, hlgInverseOetf, pqEotf, pqInverseEotf, toneMapToSdr, transformImage } from '../../media-proxy/index.ts';
import { avifdecTo16BitPng, findAvifdec } from '../../media-proxy/transform/avifdec.ts';
import { fixture, pixels } from './helpers.ts';
import {
  HDR_CARD,
  MDCV,
  hdrCard,
  hlgEncode,
  insertAfterIhdr,
  patchNclx,
  png16,
  pngChunk,
  pqEncode,
} from '../../testkit/index.ts';

/** HSV hue in degrees of an RGB triple (any scale; works for negative components too). */
function hue([r, g, b]: number[]): number {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}
const srgbToLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const BT2020_TO_709 = [1.660491, -0.587641, -0.07285, -0.124551, 1.1329, -0.008349, -0.018151, -0.100579, 1.11873];

describe('transfer functions', () => {
  it('PQ EOTF matches the reference values and inverts', () => {
    expect(pqInverseEotf(100)).toBeCloseTo(0.5081, 3);
    expect(pqInverseEotf(203)).toBeCloseTo(0.5807, 3);
    expect(pqInverseEotf(1000)).toBeCloseTo(0.7518, 3);
    for (const n of [0.1, 1, 50, 203, 1000, 4000, 10000]) expect(pqEotf(pqInverseEotf(n)) / n).toBeCloseTo(1, 4);
  });

  it('HLG inverse OETF is continuous at 0.5 and reaches 1', () => {
    expect(hlgInverseOetf(0.5)).toBeCloseTo(1 / 12, 6);
    expect(hlgInverseOetf(0.5000001)).toBeCloseTo(1 / 12, 5);
    expect(hlgInverseOetf(1)).toBeCloseTo(1, 4);
  });

  it('the BT.2390 EETF is monotonic, identity below the knee and lands the source peak on the target peak', () => {
    let prev = -1;
    for (let n = 0; n <= 1000; n += 5) {
      const v = eetf(n, 1000, 203);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
    expect(eetf(10, 1000, 203)).toBeCloseTo(10, 6);
    expect(eetf(1000, 1000, 203)).toBeCloseTo(203, 0);
    expect(eetf(150, 120, 203)).toBe(120); // source already fits: untouched
  });
});

describe('toneMapToSdr on synthetic PQ and HLG cards', () => {
  const { width, height } = HDR_CARD;
  const run = (transfer: 'pq' | 'hlg', sourcePeakNits?: number) =>
    toneMapToSdr(hdrCard(transfer === 'pq' ? pqEncode : hlgEncode), 3, {
      transfer,
      primaries: 'bt2020',
      ...(sourcePeakNits ? { sourcePeakNits } : {}),
    });
  const at = (out: Uint8Array, x: number, y: number) =>
    Array.from(out.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));

  for (const transfer of ['pq', 'hlg'] as const) {
    describe(transfer, () => {
      const out = run(transfer, transfer === 'pq' ? 1000 : undefined);
      it('maps the neutral ramp monotonically and keeps it neutral', () => {
        let prev = -1;
        for (let x = 0; x < width; x++) {
          const [r, g, b] = at(out, x, 8);
          expect(r).toBeGreaterThanOrEqual(prev);
          expect(Math.abs(r - g)).toBeLessThanOrEqual(1);
          expect(Math.abs(r - b)).toBeLessThanOrEqual(1);
          prev = r;
        }
        expect(at(out, 0, 8)[0]).toBe(0);
        expect(height).toBe(64);
      });

      it('puts 203-nit reference white near sRGB white, and 100 nits clearly below it', () => {
        const white = at(out, 32, 24);
        expect(white[0]).toBeGreaterThanOrEqual(210);
        expect(white[0]).toBeLessThan(250);
        expect(at(out, 224, 24)[0]).toBeLessThan(white[0] - 20);
      });

      it('keeps 600 and 1000-nit highlights apart instead of clipping them flat', () => {
        const w = at(out, 32, 24)[0];
        const h600 = at(out, 96, 24)[0];
        const h1000 = at(out, 160, 24)[0];
        expect(h600).toBeGreaterThan(w);
        expect(h1000).toBeGreaterThan(h600);
        // Over the top of the ramp (400 → 1000 nits) most steps remain distinct.
        const top = new Set<number>();
        for (let x = Math.ceil(255 * Math.sqrt(0.4)); x < width; x++) top.add(at(out, x, 8)[0]);
        expect(top.size).toBeGreaterThan(8);
      });

      it('keeps saturated BT.2020 colours in gamut without hue flips', () => {
        HDR_CARD.colours.forEach((c, i) => {
          const got = at(out, i * 64 + 32, 40);
          const lin = got.map(srgbToLinear);
          const m = BT2020_TO_709;
          const want = [
            m[0] * c[0] + m[1] * c[1] + m[2] * c[2],
            m[3] * c[0] + m[4] * c[1] + m[5] * c[2],
            m[6] * c[0] + m[7] * c[1] + m[8] * c[2],
          ];
          const dh = Math.abs(hue(lin) - hue(want));
          expect(Math.min(dh, 360 - dh)).toBeLessThan(6);
          // The dominant channel stays dominant and is not crushed.
          const dom = want.indexOf(Math.max(...want));
          expect(got[dom]).toBe(Math.max(...got));
          expect(got[dom]).toBeGreaterThan(120);
        });
      });
    });
  }

  it('measures the content peak when no metadata is given: a dim PQ image is not compressed', () => {
    const dim = new Uint16Array(3 * 4).fill(Math.round(pqEncode(80) * 65535));
    const out = toneMapToSdr(dim, 3, { transfer: 'pq', primaries: 'bt2020' });
    // 80 nits on a 203-nit white is 0.394 linear → sRGB 0.664.
    expect(out[0]).toBeGreaterThanOrEqual(168);
    expect(out[0]).toBeLessThanOrEqual(171);
  });

  it('passes alpha through rescaled, never tone-mapped', () => {
    const px = new Uint16Array([30000, 30000, 30000, 32768, 60000, 60000, 60000, 65535]);
    const out = toneMapToSdr(px, 4, { transfer: 'pq', primaries: 'bt2020' });
    expect(out[3]).toBe(128);
    expect(out[7]).toBe(255);
  });
});

describe('tone mapping through transformImage', () => {
  it.each(['pq.png', 'hlg.png', 'pq.avif', 'hlg.avif', 'pq-avifenc.avif'])(
    '%s is tone-mapped: white patch near white, neutral, highlights ordered',
    async (name) => {
      const r = await transformImage(fixture(name), { format: 'png' });
      expect(r.toneMapped).toBe(true);
      const p = await pixels(r.data);
      const white = p.at(32, 24);
      expect(white[0]).toBeGreaterThanOrEqual(205);
      expect(Math.max(...white) - Math.min(...white)).toBeLessThanOrEqual(3);
      expect(p.at(160, 24)[0]).toBeGreaterThan(p.at(96, 24)[0]);
      expect(p.at(96, 24)[0]).toBeGreaterThan(white[0]);
    },
  );

  it('SDR inputs pass through untouched: a 16-bit SDR PNG keeps its values, an 8-bit PNG is bit-exact', async () => {
    const r16 = await transformImage(fixture('rgb16.png'), { format: 'png' });
    expect(r16.toneMapped).toBe(false);
    const p = await pixels(r16.data);
    for (let x = 0; x < 256; x += 17) expect(Math.abs(p.at(x, 4)[0] - x)).toBeLessThanOrEqual(1);
    const r8 = await transformImage(fixture('photo.png'), { format: 'png' });
    const a = await sharp(fixture('photo.png')).raw().toBuffer();
    const b = await sharp(r8.data).raw().toBuffer();
    expect(b.equals(a)).toBe(true);
  });

  it('an 8-bit JPEG whose ICC profile carries a PQ cicp tag is tone-mapped too', async () => {
    const r = await transformImage(fixture('pq-icc.jpg'), { format: 'jpeg', width: 64 });
    expect(r).toMatchObject({ toneMapped: true, width: 64 });
  });

  it('an HDR image can be resized while tone-mapped', async () => {
    const r = await transformImage(fixture('pq.avif'), { format: 'webp', width: 128 });
    expect(r).toMatchObject({ width: 128, height: 32, toneMapped: true, format: 'webp' });
  });
});

describe('AVIF fallback decoder (avifdec) for files sharp cannot decode', () => {
  it('decodes an avifenc-written 10-bit PQ AVIF to the same 16-bit code values sharp sees', async () => {
    const bin = findAvifdec();
    expect(bin, 'avifdec missing: apt-get install libavif-bin (.ci/run installs it)').toBeDefined();
    const input = fixture('pq-avifenc.avif');
    const png = await avifdecTo16BitPng(bin as string, input, 10);
    const viaAvifdec = await sharp(png).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    const viaSharp = await sharp(input).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    const a = new Uint16Array(viaAvifdec.buffer, viaAvifdec.byteOffset, viaAvifdec.length / 2);
    const b = new Uint16Array(viaSharp.buffer, viaSharp.byteOffset, viaSharp.length / 2);
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i += 7) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(700); // within ~1% of full scale: both are YUV→RGB conversions of the same 10-bit planes
  });
});

/**
 * Issue 11 item 1: BT.2408 reference levels through the whole pipeline, with and without mastering metadata. Each
 * ramp is a row of 32-px patches; the expected sRGB codes are what the BT.2390 EETF toward 203 cd/m² gives for that
 * source peak (the README's table).
 */
describe('BT.2408 reference levels land where the README says', () => {
  const PATCH = 32;
  const u32 = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
    return b;
  };
  const clli = (maxCll: number) => pngChunk('cLLi', u32(maxCll * 10000, Math.min(maxCll, 400) * 10000));
  const mdcv = (max: number) => pngChunk('mDCv', MDCV(max));

  /** A one-row-of-patches 16-bit PNG: each signal value (0…1) fills a PATCH×PATCH square. */
  async function ramp(signals: number[], transfer: 16 | 18, extra: Buffer[] = []): Promise<Buffer> {
    const w = PATCH * signals.length;
    const px = new Uint16Array(w * PATCH * 3);
    for (let y = 0; y < PATCH; y++)
      for (let x = 0; x < w; x++)
        px.fill(Math.round(signals[Math.floor(x / PATCH)] * 65535), (y * w + x) * 3, (y * w + x) * 3 + 3);
    const png = await png16(px, w, PATCH);
    return insertAfterIhdr(png, [pngChunk('cICP', Buffer.from([9, transfer, 0, 1])), ...extra]);
  }

  async function levels(input: Buffer, n: number): Promise<number[]> {
    const r = await transformImage(input, { format: 'png' });
    expect(r.toneMapped).toBe(true);
    const p = await pixels(r.data);
    return Array.from({ length: n }, (_, i) => p.at(i * PATCH + PATCH / 2, PATCH / 2)[0]);
  }

  // PQ: 18 % grey 26 cd/m², 100 cd/m², diffuse white 203 cd/m², 1000 cd/m², the PQ ceiling 10,000 cd/m².
  const PQ_NITS = [26, 100, 203, 1000, 10000];
  const pqSignals = PQ_NITS.map(pqEncode);

  it.each([
    ['no metadata, content reaching 10,000 nits', [], [100, 164, 195, 241, 255]],
    ['cLLi MaxCLL 10,000', [clli(10000)], [100, 164, 195, 241, 255]],
    ['cLLi beyond the PQ ceiling (20,000) is clamped to 10,000', [clli(20000)], [100, 164, 195, 241, 255]],
    ['mDCv 4,000 only', [mdcv(4000)], [100, 167, 199, 244, 255]],
    ['cLLi 1,000 + mDCv 1,000', [clli(1000), mdcv(1000)], [100, 182, 220, 254, 255]],
  ] as const)('PQ, %s', async (_name, extra, want) => {
    const got = await levels(await ramp(pqSignals, 16, [...extra]), PQ_NITS.length);
    got.forEach((v, i) => expect(Math.abs(v - want[i]), `${PQ_NITS[i]} nits → ${v}`).toBeLessThanOrEqual(1));
  });

  it('PQ without metadata: the widened peak stays at the ceiling, so 203 nits is brighter than before the fix', async () => {
    // Before: the measured 10,000-nit peak was widened to 19,797 and 203 nits landed at 186.
    const [, , white] = await levels(await ramp(pqSignals, 16), PQ_NITS.length);
    expect(white).toBeGreaterThanOrEqual(194);
  });

  it('a 10-bit PQ AVIF without metadata lands like the PNG', async () => {
    const w = PATCH * pqSignals.length;
    const px = new Uint16Array(w * PATCH * 3);
    for (let i = 0; i < px.length; i += 3)
      px.fill(Math.round(pqSignals[Math.floor(((i / 3) % w) / PATCH)] * 65535), i, i + 3);
    const avif = patchNclx(
      await sharp(px, { raw: { width: w, height: PATCH, channels: 3 } })
        .toColourspace('rgb16')
        .avif({ lossless: true, bitdepth: 10 })
        .toBuffer(),
      9,
      16,
      0,
    );
    const got = await levels(avif, PQ_NITS.length);
    [100, 164, 195, 241, 255].forEach((want, i) => expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(2));
  });

  // HLG (BT.2408 at a 1000 cd/m² display): 18 % grey at 38 %, diffuse white at 75 %, peak at 100 %.
  const HLG_SIGNALS = [0.38, 0.75, 1];
  it.each([
    ['no metadata', []],
    ['cLLi 1,000 + mDCv 1,000', [clli(1000), mdcv(1000)]],
    ['cLLi 4,000 (beyond the nominal peak) is clamped to 1,000', [clli(4000)]],
  ] as const)('HLG, %s: grey 38 % → 100, white 75 % → 220 (86 %), peak → 254', async (_name, extra) => {
    const got = await levels(await ramp(HLG_SIGNALS, 18, [...extra]), HLG_SIGNALS.length);
    [100, 220, 254].forEach((want, i) =>
      expect(Math.abs(got[i] - want), `HLG ${HLG_SIGNALS[i]} → ${got[i]}`).toBeLessThanOrEqual(1),
    );
  });
});
