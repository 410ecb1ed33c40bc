import type { Cicp, DetectResult, HdrInfo } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { corrupt, fourcc, need, u16be, u32be } from './bytes.ts';
import { NO_HDR, hdrFromCicp, withLightLevels } from './cicp.ts';
import { parseIcc } from './icc.ts';

interface Box {
  type: string;
  /** Start of the payload (after size/type, and after version/flags for full boxes when the caller skips them). */
  start: number;
  end: number;
}

/** Iterates the boxes in [from, to); a box running past `to` (or the file) means truncation. */
function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  let o = from;
  while (o + 8 <= to) {
    let size = u32be(b, o);
    const type = fourcc(b, o + 4);
    let header = 8;
    if (size === 1) {
      const hi = u32be(b, o + 8);
      const lo = u32be(b, o + 12);
      size = hi * 2 ** 32 + lo;
      header = 16;
    } else if (size === 0) {
      size = to - o;
    }
    if (size < header) throw corrupt(`ISOBMFF box ${type} has an impossible size`);
    need(b, o + size, `box ${type}`);
    if (o + size > to) throw corrupt(`box ${type} overruns its parent`);
    yield { type, start: o + header, end: o + size };
    o += size;
  }
}

function find(b: Uint8Array, parent: Box, type: string, fullBox = false): Box | undefined {
  for (const x of boxes(b, parent.start + (fullBox ? 4 : 0), parent.end)) if (x.type === type) return x;
  return undefined;
}

interface ItemProps {
  width: number;
  height: number;
  cicp?: Cicp;
  icc?: Uint8Array;
  clli?: { maxCll: number; maxFall: number };
  mdcv?: { max: number; min: number };
  bitDepth: number;
  codec?: 'av1C' | 'hvcC';
  hasAlpha: boolean;
  /** `irot` angle in quarter turns anti-clockwise. */
  quarterTurns: number;
}

/** AVIF and HEIC: ftyp brands, the primary item's ispe/colr/pixi/av1C/clli/mdcv properties, and sequence length. */
export function detectIsobmff(b: Uint8Array): DetectResult {
  const top = [...boxes(b, 0, b.length)];
  const ftyp = top[0];
  if (!ftyp || ftyp.type !== 'ftyp') throw corrupt('ISOBMFF file does not start with ftyp');
  const brands = new Set<string>([fourcc(b, ftyp.start)]);
  for (let o = ftyp.start + 8; o + 4 <= ftyp.end; o += 4) brands.add(fourcc(b, o));
  const isAvif = brands.has('avif') || brands.has('avis');
  const isHeic = ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx'].some((x) => brands.has(x));
  if (!isAvif && !isHeic) throw corrupt('ISOBMFF file is neither AVIF nor HEIC');
  const meta = top.find((x) => x.type === 'meta');
  const moov = top.find((x) => x.type === 'moov');
  if (!meta && !moov) throw corrupt('ISOBMFF file has neither a meta nor a moov box');
  let props: ItemProps | undefined = meta ? primaryItemProps(b, meta) : undefined;
  let frames = 1;
  let delays: number[] | undefined;
  if (moov && brands.has('avis')) {
    const seq = sequenceFacts(b, moov);
    frames = Math.max(1, seq.frames);
    if (seq.delays.length) delays = seq.delays;
    props ??= { width: seq.width, height: seq.height, bitDepth: 8, hasAlpha: false, quarterTurns: 0 };
  }
  if (!props || props.width === 0 || props.height === 0) throw corrupt('AVIF/HEIC has no image size (ispe)');
  let hdr: HdrInfo = NO_HDR;
  if (props.cicp) hdr = hdrFromCicp(props.cicp, 'nclx');
  else if (props.icc) {
    const facts = parseIcc(props.icc);
    if (facts?.cicp) hdr = hdrFromCicp(facts.cicp, 'icc-cicp');
  }
  const format = isAvif ? 'avif' : 'heic';
  return {
    format,
    contentType: CONTENT_TYPES[format],
    width: props.width,
    height: props.height,
    frames,
    isAnimated: frames > 1,
    ...(frames > 1 ? { loop: 0 } : {}),
    ...(frames > 1 && delays ? { delays } : {}),
    bitDepth: props.bitDepth,
    hasAlpha: props.hasAlpha,
    // irot turns anti-clockwise; expressed as the EXIF orientation that displays the same way (mirrors aside).
    orientation: [1, 8, 3, 6][props.quarterTurns],
    colorModel: 'yuv',
    hasIcc: props.icc !== undefined,
    hdr: withLightLevels(hdr, props.clli, props.mdcv),
    bytes: b.length,
  };
}

function primaryItemProps(b: Uint8Array, meta: Box): ItemProps | undefined {
  const pitm = find(b, meta, 'pitm', true);
  const primary = pitm ? (b[pitm.start] === 0 ? u16be(b, pitm.start + 4) : u32be(b, pitm.start + 4)) : 1;
  const iprp = find(b, meta, 'iprp', true);
  if (!iprp) return undefined;
  const ipco = find(b, iprp, 'ipco');
  if (!ipco) return undefined;
  const list = [...boxes(b, ipco.start, ipco.end)];
  const assoc = associations(b, iprp);
  const forPrimary = assoc.get(primary);
  // Without ipma (rare, hand-made files) every property is taken as the primary item's, first one wins.
  const chosen = forPrimary ? forPrimary.map((i) => list[i - 1]).filter((x): x is Box => x !== undefined) : list;
  const alphaItem = [...assoc.entries()].some(
    ([item, idx]) => item !== primary && idx.some((i) => isAlphaAux(b, list[i - 1])),
  );
  const p: ItemProps = { width: 0, height: 0, bitDepth: 8, hasAlpha: alphaItem, quarterTurns: 0 };
  for (const x of chosen) {
    const s = x.start;
    switch (x.type) {
      case 'ispe':
        if (p.width === 0) {
          p.width = u32be(b, s + 4);
          p.height = u32be(b, s + 8);
        }
        break;
      case 'colr': {
        const kind = fourcc(b, s);
        if (kind === 'nclx' && !p.cicp) {
          need(b, s + 11, 'nclx');
          p.cicp = {
            primaries: u16be(b, s + 4),
            transfer: u16be(b, s + 6),
            matrix: u16be(b, s + 8),
            fullRange: (b[s + 10] & 0x80) !== 0,
          };
        } else if ((kind === 'prof' || kind === 'rICC') && !p.icc) {
          p.icc = b.subarray(s + 4, x.end);
        }
        break;
      }
      case 'pixi':
        if (b[s + 4] > 0) p.bitDepth = b[s + 5];
        break;
      case 'av1C': {
        // seq_profile/high_bitdepth/twelve_bit give the depth when pixi is absent.
        const f = b[s + 2];
        if (p.bitDepth === 8) p.bitDepth = f & 0x40 ? (f & 0x20 ? 12 : 10) : 8;
        p.codec = 'av1C';
        break;
      }
      case 'hvcC':
        p.codec = 'hvcC';
        break;
      case 'irot':
        p.quarterTurns = b[s] & 3;
        break;
      case 'clli':
        p.clli = { maxCll: u16be(b, s), maxFall: u16be(b, s + 2) };
        break;
      case 'mdcv':
        p.mdcv = { max: u32be(b, s + 16) / 10000, min: u32be(b, s + 20) / 10000 };
        break;
    }
  }
  return p;
}

function isAlphaAux(b: Uint8Array, box: Box | undefined): boolean {
  if (!box || box.type !== 'auxC') return false;
  const urn = Buffer.from(b.subarray(box.start + 4, box.end)).toString('latin1');
  return urn.includes(':alpha');
}

/** ipma: item id → 1-based property indices. */
function associations(b: Uint8Array, iprp: Box): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const ipma = find(b, iprp, 'ipma');
  if (!ipma) return out;
  const version = b[ipma.start];
  const flags = b[ipma.start + 3];
  let o = ipma.start + 4;
  const count = u32be(b, o);
  o += 4;
  for (let i = 0; i < count && o < ipma.end; i++) {
    const item = version < 1 ? u16be(b, o) : u32be(b, o);
    o += version < 1 ? 2 : 4;
    need(b, o + 1, 'ipma');
    const n = b[o++];
    const idx: number[] = [];
    for (let j = 0; j < n; j++) {
      if (flags & 1) {
        idx.push(u16be(b, o) & 0x7fff);
        o += 2;
      } else {
        need(b, o + 1, 'ipma');
        idx.push(b[o++] & 0x7f);
      }
    }
    out.set(item, idx);
  }
  return out;
}

/** AVIF sequences: the largest track's sample count (stsz), its tkhd size and frame durations (mdhd + stts). */
function sequenceFacts(b: Uint8Array, moov: Box): { frames: number; width: number; height: number; delays: number[] } {
  let frames = 0;
  let width = 0;
  let height = 0;
  let delays: number[] = [];
  for (const trak of boxes(b, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue;
    const tkhd = find(b, trak, 'tkhd');
    const mdia = find(b, trak, 'mdia');
    const minf = mdia && find(b, mdia, 'minf');
    const stbl = minf && find(b, minf, 'stbl');
    const stsz = stbl && find(b, stbl, 'stsz');
    const n = stsz ? u32be(b, stsz.start + 8) : 0;
    if (n <= frames) continue;
    frames = n;
    if (tkhd) {
      const v1 = b[tkhd.start] === 1;
      const wOff = tkhd.start + (v1 ? 88 : 76);
      width = u32be(b, wOff) >>> 16;
      height = u32be(b, wOff + 4) >>> 16;
    }
    const mdhd = mdia && find(b, mdia, 'mdhd');
    const stts = stbl && find(b, stbl, 'stts');
    delays = [];
    if (mdhd && stts) {
      const timescale = u32be(b, mdhd.start + (b[mdhd.start] === 1 ? 20 : 12));
      const entries = u32be(b, stts.start + 4);
      for (let e = 0; e < entries && delays.length < n; e++) {
        const count = u32be(b, stts.start + 8 + e * 8);
        const delta = u32be(b, stts.start + 12 + e * 8);
        const ms = timescale > 0 ? Math.round((delta * 1000) / timescale) : 100;
        for (let k = 0; k < count && delays.length < n; k++) delays.push(ms);
      }
    }
  }
  return { frames, width, height, delays };
}
