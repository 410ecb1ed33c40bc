import type { DetectResult } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { ascii, corrupt, need, u16le } from './bytes.ts';
import { NO_HDR } from './cicp.ts';

/** Skips a run of GIF data sub-blocks, returning the offset after the terminator. */
function skipSubBlocks(b: Uint8Array, o: number): number {
  for (;;) {
    need(b, o + 1, 'GIF sub-block');
    const n = b[o];
    o += 1;
    if (n === 0) return o;
    need(b, o + n, 'GIF sub-block');
    o += n;
  }
}

/** Counts image descriptors and reads the NETSCAPE2.0 loop count without decoding LZW data. */
export function detectGif(b: Uint8Array): DetectResult {
  need(b, 13, 'GIF header');
  const width = u16le(b, 6);
  const height = u16le(b, 8);
  const flags = b[10];
  let o = 13;
  if (flags & 0x80) o += 3 * (1 << ((flags & 7) + 1));
  let frames = 0;
  let loop: number | undefined;
  let transparent = false;
  for (;;) {
    if (o >= b.length) {
      // A missing trailer after complete frames is common in the wild and harmless; mid-frame truncation is not.
      if (frames === 0) throw corrupt('GIF ends before its first frame');
      break;
    }
    const tag = b[o];
    if (tag === 0x3b) break;
    if (tag === 0x21) {
      need(b, o + 2, 'GIF extension');
      const label = b[o + 1];
      if (label === 0xff && b[o + 2] === 11 && ascii(b, o + 3, 11) === 'NETSCAPE2.0') {
        need(b, o + 19, 'NETSCAPE extension');
        if (b[o + 15] === 1) loop = u16le(b, o + 16);
      } else if (label === 0xf9) {
        need(b, o + 4, 'graphic control extension');
        if (b[o + 3] & 1) transparent = true;
      }
      o = skipSubBlocks(b, o + 2);
    } else if (tag === 0x2c) {
      need(b, o + 10, 'GIF image descriptor');
      const lflags = b[o + 9];
      o += 10;
      if (lflags & 0x80) o += 3 * (1 << ((lflags & 7) + 1));
      need(b, o + 1, 'GIF LZW code size');
      o = skipSubBlocks(b, o + 1);
      frames++;
      if (frames > 1_000_000) throw corrupt('GIF has an absurd frame count');
    } else {
      throw corrupt(`unknown GIF block 0x${tag.toString(16)}`);
    }
  }
  if (width === 0 || height === 0) throw corrupt('GIF has a zero dimension');
  return {
    format: 'gif',
    contentType: CONTENT_TYPES.gif,
    width,
    height,
    frames,
    isAnimated: frames > 1,
    ...(frames > 1 ? { loop: loop ?? 1 } : {}),
    bitDepth: 8,
    hasAlpha: transparent,
    orientation: 1,
    colorModel: 'palette',
    hasIcc: false,
    hdr: NO_HDR,
    bytes: b.length,
  };
}
