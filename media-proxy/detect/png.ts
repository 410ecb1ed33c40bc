import { inflateSync } from 'node:zlib';
import type { DetectResult } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { corrupt, fourcc, need, u32be } from './bytes.ts';
import { NO_HDR, hdrFromCicp, withLightLevels } from './cicp.ts';
import { exifOrientation } from './exif.ts';
import { parseIcc } from './icc.ts';

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

export interface PngChunk {
  type: string;
  /** Offset of the chunk data (after length and type). */
  data: number;
  length: number;
}

/** Walks every chunk up to IEND; a chunk whose length runs past the end means the file is truncated. */
export function pngChunks(b: Uint8Array): PngChunk[] {
  const out: PngChunk[] = [];
  let o = 8;
  for (;;) {
    const length = u32be(b, o);
    const type = fourcc(b, o + 4);
    if (length > 0x7fffffff) throw corrupt(`PNG chunk ${type} has an impossible length`);
    need(b, o + 12 + length, `PNG chunk ${type}`);
    out.push({ type, data: o + 8, length });
    o += 12 + length;
    if (type === 'IEND') return out;
    if (out.length > 100_000) throw corrupt('PNG has too many chunks');
  }
}

/** ICC profiles are small; refuse to inflate one past this so a zip bomb in iCCP cannot cost memory. */
const MAX_ICC_BYTES = 4 * 1024 * 1024;

export function detectPng(b: Uint8Array): DetectResult {
  const chunks = pngChunks(b);
  const ihdr = chunks[0];
  if (!ihdr || ihdr.type !== 'IHDR' || ihdr.length !== 13) throw corrupt('PNG does not start with IHDR');
  const width = u32be(b, ihdr.data);
  const height = u32be(b, ihdr.data + 4);
  const bitDepth = b[ihdr.data + 8];
  const colorType = b[ihdr.data + 9];
  if (width === 0 || height === 0) throw corrupt('PNG has a zero dimension');
  let frames = 1;
  let loop: number | undefined;
  let animated = false;
  let seenIdat = false;
  let hasTrns = false;
  let hdr = NO_HDR;
  let iccCicp = NO_HDR;
  let hasIcc = false;
  let clli: { maxCll: number; maxFall: number } | undefined;
  let mdcv: { max: number; min: number } | undefined;
  let orientation = 1;
  for (const c of chunks) {
    switch (c.type) {
      case 'IDAT':
        seenIdat = true;
        break;
      case 'acTL':
        // APNG: only an acTL before the first IDAT makes the file animated (the spec says ignore it otherwise).
        if (!seenIdat && c.length === 8) {
          frames = u32be(b, c.data);
          loop = u32be(b, c.data + 4);
          animated = frames > 1;
          if (frames === 0) throw corrupt('APNG declares zero frames');
        }
        break;
      case 'tRNS':
        hasTrns = true;
        break;
      case 'eXIf':
        orientation = exifOrientation(b.subarray(c.data, c.data + c.length));
        break;
      case 'cICP':
        if (c.length === 4) {
          hdr = hdrFromCicp(
            { primaries: b[c.data], transfer: b[c.data + 1], matrix: b[c.data + 2], fullRange: b[c.data + 3] !== 0 },
            'cicp-chunk',
          );
        }
        break;
      case 'cLLi':
        if (c.length === 8) clli = { maxCll: u32be(b, c.data) / 10000, maxFall: u32be(b, c.data + 4) / 10000 };
        break;
      case 'mDCv':
        if (c.length === 24) mdcv = { max: u32be(b, c.data + 16) / 10000, min: u32be(b, c.data + 20) / 10000 };
        break;
      case 'iCCP': {
        hasIcc = true;
        const nul = b.subarray(c.data, c.data + Math.min(80, c.length)).indexOf(0);
        if (nul > 0) {
          try {
            const icc = inflateSync(b.subarray(c.data + nul + 2, c.data + c.length), {
              maxOutputLength: MAX_ICC_BYTES,
            });
            const facts = parseIcc(icc);
            if (facts?.cicp) iccCicp = hdrFromCicp(facts.cicp, 'icc-cicp');
          } catch {
            // A broken embedded profile is ignored by decoders too; the pixels are still valid.
          }
        }
        break;
      }
    }
  }
  if (!seenIdat) throw corrupt('PNG has no image data');
  // cICP takes precedence over ICC by the PNG third edition's rules.
  const chosen = hdr.source !== 'none' ? hdr : iccCicp;
  const alpha = colorType === 4 || colorType === 6 || hasTrns;
  return {
    format: animated ? 'apng' : 'png',
    contentType: animated ? CONTENT_TYPES.apng : CONTENT_TYPES.png,
    width,
    height,
    frames: animated ? frames : 1,
    isAnimated: animated,
    ...(animated ? { loop } : {}),
    bitDepth,
    hasAlpha: alpha,
    orientation,
    colorModel: colorType === 3 ? 'palette' : colorType === 0 || colorType === 4 ? 'gray' : 'rgb',
    hasIcc,
    hdr: withLightLevels(chosen, clli, mdcv),
    bytes: b.length,
  };
}
