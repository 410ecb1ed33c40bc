/**
 * Synthetic image material for fixture generators, tests and benchmarks: seeded photo-like rasters, PNG chunks,
 * hand-built HEIF/AVIF boxes, HDR transfer functions and test cards, ICC profiles. Deterministic for a given seed.
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { createRng } from '../common/rng.ts';

/** Seeded texture noise (mulberry32, common/rng.ts). */
export const prng = createRng;

/** A photo-like RGB raster: sky gradient, soft discs, fine noise — compresses like a photo, not like flat art. */
export function photoRaw(width: number, height: number, seed: number): Buffer {
  const rnd = prng(seed);
  const buf = Buffer.alloc(width * height * 3);
  const discs = Array.from({ length: 12 }, () => ({
    x: rnd() * width,
    y: rnd() * height,
    r: (0.05 + rnd() * 0.25) * width,
    c: [rnd() * 255, rnd() * 255, rnd() * 255],
  }));
  const base = [rnd() * 120, rnd() * 160 + 40, rnd() * 200 + 55];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = base[0] + (y / height) * 80;
      let g = base[1] + (x / width) * 40;
      let b = base[2] - (y / height) * 60;
      for (const d of discs) {
        const k = Math.max(0, 1 - Math.hypot(x - d.x, y - d.y) / d.r);
        const s = k * k * (3 - 2 * k);
        r += (d.c[0] - r) * s * 0.7;
        g += (d.c[1] - g) * s * 0.7;
        b += (d.c[2] - b) * s * 0.7;
      }
      const n = (rnd() - 0.5) * 24;
      const o = (y * width + x) * 3;
      buf[o] = Math.max(0, Math.min(255, r + n));
      buf[o + 1] = Math.max(0, Math.min(255, g + n));
      buf[o + 2] = Math.max(0, Math.min(255, b + n));
    }
  }
  return buf;
}

// ---- PNG chunk and ISOBMFF box writers (for cICP/cLLi/mDCv, APNG and hand-made AVIF/HEIC containers) ----

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** Inserts chunks right after IHDR (where cICP, cLLi, mDCv and acTL belong). */
export function insertAfterIhdr(png: Buffer, chunks: Buffer[]): Buffer {
  const end = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, end), ...chunks, png.subarray(end)]);
}

export const u16 = (...v: number[]) => Buffer.from(v.flatMap((x) => [(x >> 8) & 255, x & 255]));
export const u32 = (...v: number[]) => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
  return b;
};

export function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length + 8), Buffer.from(type, 'latin1'), body]);
}
const fullBox = (type: string, version: number, flags: number, ...parts: Buffer[]) =>
  box(type, Buffer.from([version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255]), ...parts);

/** BT.2020 primaries + D65 in mDCv/mdcv units (0.00002), max/min luminance in 0.0001 cd/m². */
export const MDCV = (maxNits: number) =>
  Buffer.concat([u16(35400, 14600, 8500, 39850, 6550, 2300, 15635, 16450), u32(maxNits * 10000, 50)]);

/** A structurally valid AVIF/HEIC header with no decodable payload: detection fixtures for what sharp cannot write. */
export function handmadeHeif(opts: {
  brand: 'avif' | 'heic' | 'avis';
  width: number;
  height: number;
  nclx?: [number, number, number];
  clli?: [number, number];
  mdcvNits?: number;
  bitDepth?: number;
  frames?: number;
}): Buffer {
  const props: Buffer[] = [fullBox('ispe', 0, 0, u32(opts.width, opts.height))];
  if (opts.nclx) props.push(box('colr', Buffer.from('nclx'), u16(...opts.nclx), Buffer.from([0x80])));
  props.push(fullBox('pixi', 0, 0, Buffer.from([3, opts.bitDepth ?? 8, opts.bitDepth ?? 8, opts.bitDepth ?? 8])));
  props.push(
    opts.brand === 'heic'
      ? box('hvcC', Buffer.alloc(23))
      : box('av1C', Buffer.from([0x81, 0x00, (opts.bitDepth ?? 8) > 8 ? 0x4c : 0x0c, 0x00])),
  );
  if (opts.clli) props.push(box('clli', u16(...opts.clli)));
  if (opts.mdcvNits) props.push(box('mdcv', MDCV(opts.mdcvNits)));
  const ipma = fullBox(
    'ipma',
    0,
    0,
    u32(1),
    u16(1),
    Buffer.from([props.length, ...props.map((_, i) => 0x80 | (i + 1))]),
  );
  const meta = fullBox(
    'meta',
    0,
    0,
    fullBox('hdlr', 0, 0, u32(0), Buffer.from('pict'), Buffer.alloc(13)),
    fullBox('pitm', 0, 0, u16(1)),
    box('iprp', box('ipco', ...props), ipma),
  );
  const major = opts.brand === 'heic' ? 'heic' : opts.brand;
  const ftyp = box(
    'ftyp',
    Buffer.from(major),
    u32(0),
    Buffer.from('mif1'),
    Buffer.from(major === 'heic' ? 'heic' : 'avif'),
    Buffer.from('miaf'),
    ...(opts.brand === 'avis' ? [Buffer.from('msf1')] : []),
  );
  const parts = [ftyp, meta];
  if (opts.brand === 'avis') {
    const tkhd = fullBox(
      'tkhd',
      0,
      3,
      Buffer.alloc(20),
      Buffer.alloc(8),
      Buffer.alloc(8),
      Buffer.alloc(36),
      u32(opts.width * 65536, opts.height * 65536),
    );
    const stsz = fullBox(
      'stsz',
      0,
      0,
      u32(0, opts.frames ?? 1),
      ...Array.from({ length: opts.frames ?? 1 }, () => u32(10)),
    );
    parts.push(box('moov', box('trak', tkhd, box('mdia', box('minf', box('stbl', stsz))))));
  }
  parts.push(box('mdat', Buffer.alloc(32, 0x11)));
  return Buffer.concat(parts);
}

// ---- HDR test card: known luminance patches, a ramp and saturated BT.2020 colours ----

/** Patches (x ranges on a 256-wide card) and what a test expects there; shared with the tests. */
export const HDR_CARD = {
  width: 256,
  height: 64,
  /** rows 0-15: neutral ramp 0 → 1000 cd/m² across x (linear in PQ signal). */
  rampRows: [0, 16],
  /** rows 16-31: neutral patches, 64 px each. */
  patchNits: [203, 600, 1000, 100],
  /** rows 32-47: saturated BT.2020 R, G, B, yellow at 203-nit-white scaled signal. */
  colours: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
  ],
};

/** 16-bit RGB card encoded with `encode` (nits → signal 0…1). */
export function hdrCard(encode: (nits: number) => number, rampMaxNits = 1000): Uint16Array {
  const { width, height } = HDR_CARD;
  const px = new Uint16Array(width * height * 3);
  const put = (x: number, y: number, r: number, g: number, b: number) => {
    const o = (y * width + x) * 3;
    px[o] = Math.round(r * 65535);
    px[o + 1] = Math.round(g * 65535);
    px[o + 2] = Math.round(b * 65535);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y < 16) {
        const s = encode(rampMaxNits * (x / (width - 1)) ** 2);
        put(x, y, s, s, s);
      } else if (y < 32) {
        const s = encode(HDR_CARD.patchNits[x >> 6]);
        put(x, y, s, s, s);
      } else if (y < 48) {
        const c = HDR_CARD.colours[x >> 6];
        put(x, y, encode(c[0] * 203), encode(c[1] * 203), encode(c[2] * 203));
      } else {
        const s = encode(5 * (x / (width - 1)));
        put(x, y, s, s, s);
      }
    }
  }
  return px;
}

// ---- encoders for the cards ----

const M1 = 2610 / 16384;
const M2 = (2523 / 4096) * 128;
const C1 = 3424 / 4096;
const C2 = (2413 / 4096) * 32;
const C3 = (2392 / 4096) * 32;
export function pqEncode(nits: number): number {
  const y = Math.pow(Math.max(nits, 0) / 10000, M1);
  return Math.pow((C1 + C2 * y) / (1 + C3 * y), M2);
}

/** HLG signal for a neutral at `nits` on a 1000 cd/m² display (inverse OOTF, then OETF). */
export function hlgEncode(nits: number): number {
  const e = Math.pow(Math.max(nits, 0) / 1000, 1 / 1.2);
  const a = 0.17883277;
  const b = 1 - 4 * a;
  const c = 0.5 - a * Math.log(4 * a);
  return e <= 1 / 12 ? Math.sqrt(3 * e) : a * Math.log(12 * e - b) + c;
}

export async function png16(px: Uint16Array, width: number, height: number): Promise<Buffer> {
  return sharp(px, { raw: { width, height, channels: 3 } })
    .toColourspace('rgb16')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** sharp writes lossless AVIF with `colr nclx 1/13/0`; rewriting those six bytes in place re-signals it as PQ/HLG. */
export function patchNclx(avif: Buffer, primaries: number, transfer: number, matrix: number): Buffer {
  const at = avif.indexOf(Buffer.from('colrnclx', 'latin1'));
  if (at < 0) throw new Error('no colr nclx box to patch');
  const out = Buffer.from(avif);
  out.writeUInt16BE(primaries, at + 8);
  out.writeUInt16BE(transfer, at + 10);
  out.writeUInt16BE(matrix, at + 12);
  return out;
}

/** Frames of a small animation: a disc moving across a soft background, distinct per frame. */
export async function animationFrames(width: number, height: number, count: number, seed: number): Promise<Buffer[]> {
  const bg = photoRaw(width, height, seed);
  const frames: Buffer[] = [];
  for (let f = 0; f < count; f++) {
    const px = Buffer.alloc(width * height * 4);
    const cx = ((f + 0.5) / count) * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const inDisc = Math.hypot(x - cx, y - height / 2) < height / 4;
        px[i * 4] = inDisc ? 250 : bg[i * 3];
        px[i * 4 + 1] = inDisc ? 40 * f : bg[i * 3 + 1];
        px[i * 4 + 2] = inDisc ? 30 : bg[i * 3 + 2];
        px[i * 4 + 3] = 255;
      }
    }
    frames.push(px);
  }
  return frames;
}

export function stack(frames: Buffer[], width: number, height: number) {
  return sharp(Buffer.concat(frames), {
    raw: { width, height: height * frames.length, channels: 4, pageHeight: height },
  });
}

/** APNG from RGBA frames: each frame's PNG IDAT data becomes IDAT (frame 0) or fdAT (later frames). */
export async function makeApng(
  frames: Buffer[],
  width: number,
  height: number,
  delaysMs: number[],
  loops = 0,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let seq = 0;
  let ihdr: Buffer | undefined;
  for (let f = 0; f < frames.length; f++) {
    const png = await sharp(frames[f], { raw: { width, height, channels: 4 } })
      .png({ compressionLevel: 9, palette: false })
      .toBuffer();
    const idat: Buffer[] = [];
    for (let o = 8; o < png.length;) {
      const len = png.readUInt32BE(o);
      const type = png.toString('latin1', o + 4, o + 8);
      if (type === 'IHDR') ihdr ??= png.subarray(o + 8, o + 8 + len);
      if (type === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
      o += 12 + len;
    }
    const fctl = Buffer.concat([u32(seq++, width, height, 0, 0), u16(delaysMs[f], 1000), Buffer.from([0, 0])]);
    chunks.push(pngChunk('fcTL', fctl));
    for (const d of idat) chunks.push(f === 0 ? pngChunk('IDAT', d) : pngChunk('fdAT', Buffer.concat([u32(seq++), d])));
  }
  if (!ihdr) throw new Error('no IHDR');
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    sig,
    pngChunk('IHDR', ihdr),
    pngChunk('acTL', u32(frames.length, loops)),
    ...chunks,
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A minimal ICC v4.4 profile whose only tag is `cicp` (enough for detection). */
export function iccWithCicp(primaries: number, transfer: number): Buffer {
  const tagData = Buffer.concat([Buffer.from('cicp'), Buffer.alloc(4), Buffer.from([primaries, transfer, 0, 1])]);
  const header = Buffer.alloc(128);
  const total = 128 + 4 + 12 + tagData.length;
  header.writeUInt32BE(total, 0);
  header.write('mntr', 12, 'latin1');
  header.write('RGB ', 16, 'latin1');
  header.write('XYZ ', 20, 'latin1');
  header.writeUInt32BE(0x04400000, 8);
  header.write('acsp', 36, 'latin1');
  return Buffer.concat([header, u32(1), Buffer.from('cicp'), u32(128 + 4 + 12, tagData.length), tagData]);
}

export function jpegWithApp2Icc(jpeg: Buffer, icc: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([1, 1]), icc]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe2]), u16(payload.length + 2), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}
