import type { DetectResult } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { corrupt, fourcc, need, u16le, u24le, u32le } from './bytes.ts';
import { NO_HDR, hdrFromCicp } from './cicp.ts';
import { exifOrientation } from './exif.ts';
import { parseIcc } from './icc.ts';

/** RIFF/WebP: VP8, VP8L or VP8X canvas, ANMF frame count, ICCP and EXIF chunks. */
export function detectWebp(b: Uint8Array): DetectResult {
  const riffSize = u32le(b, 4);
  if (riffSize + 8 > b.length) throw corrupt('WebP RIFF size runs past the end of the file (truncated)');
  const end = riffSize + 8;
  let o = 12;
  let width = 0;
  let height = 0;
  let frames = 0;
  let loop: number | undefined;
  let alpha = false;
  let vp8x = false;
  let animatedFlag = false;
  let orientation = 1;
  let hdr = NO_HDR;
  let hasIcc = false;
  let lossless = false;
  while (o + 8 <= end) {
    const type = fourcc(b, o);
    const size = u32le(b, o + 4);
    const data = o + 8;
    need(b, data + size, `WebP chunk ${type}`);
    switch (type) {
      case 'VP8X':
        vp8x = true;
        alpha = (b[data] & 0x10) !== 0;
        animatedFlag = (b[data] & 0x02) !== 0;
        width = u24le(b, data + 4) + 1;
        height = u24le(b, data + 7) + 1;
        break;
      case 'ANIM':
        loop = u16le(b, data + 4);
        break;
      case 'ANMF':
        frames++;
        break;
      case 'ICCP': {
        hasIcc = true;
        const facts = parseIcc(b.subarray(data, data + size));
        if (facts?.cicp) hdr = hdrFromCicp(facts.cicp, 'icc-cicp');
        break;
      }
      case 'EXIF':
        orientation = exifOrientation(b.subarray(data, data + size));
        break;
      case 'VP8 ':
        if (!vp8x) {
          need(b, data + 10, 'VP8 frame header');
          if (b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a)
            throw corrupt('VP8 start code missing');
          width = u16le(b, data + 6) & 0x3fff;
          height = u16le(b, data + 8) & 0x3fff;
        }
        frames = Math.max(frames, 1);
        break;
      case 'VP8L':
        lossless = true;
        if (!vp8x) {
          need(b, data + 5, 'VP8L header');
          if (b[data] !== 0x2f) throw corrupt('VP8L signature missing');
          const bits = u32le(b, data + 1);
          width = (bits & 0x3fff) + 1;
          height = ((bits >>> 14) & 0x3fff) + 1;
          alpha = ((bits >>> 28) & 1) === 1;
        }
        frames = Math.max(frames, 1);
        break;
    }
    o = data + size + (size & 1);
  }
  if (width === 0 || height === 0 || frames === 0) throw corrupt('WebP has no image data');
  const isAnimated = animatedFlag && frames > 1;
  return {
    format: 'webp',
    contentType: CONTENT_TYPES.webp,
    width,
    height,
    frames: animatedFlag ? frames : 1,
    isAnimated,
    ...(animatedFlag ? { loop: loop ?? 0 } : {}),
    bitDepth: 8,
    hasAlpha: alpha,
    orientation,
    colorModel: lossless ? 'rgb' : 'yuv',
    hasIcc,
    hdr,
    bytes: b.length,
  };
}
