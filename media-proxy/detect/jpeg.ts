import type { DetectResult } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { ascii, corrupt, need, u16be } from './bytes.ts';
import { NO_HDR, hdrFromCicp } from './cicp.ts';
import { exifOrientation } from './exif.ts';
import { parseIcc } from './icc.ts';

const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks JPEG marker segments up to the first scan: SOF size, EXIF orientation, ICC (possibly split over APP2s), Adobe. */
export function detectJpeg(b: Uint8Array): DetectResult {
  let o = 2;
  let width = 0;
  let height = 0;
  let precision = 8;
  let components = 3;
  let orientation = 1;
  let adobeTransform: number | undefined;
  const iccParts: { seq: number; data: Uint8Array }[] = [];
  for (;;) {
    need(b, o + 2, 'JPEG marker');
    if (b[o] !== 0xff) throw corrupt('JPEG marker expected');
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      o += 2;
      continue;
    }
    if (marker === 0xd9) throw corrupt('JPEG ends before any image data');
    const len = u16be(b, o + 2);
    if (len < 2) throw corrupt('JPEG segment with impossible length');
    const seg = o + 4;
    need(b, o + 2 + len, `JPEG segment 0x${marker.toString(16)}`);
    if (SOF.has(marker)) {
      precision = b[seg];
      height = u16be(b, seg + 1);
      width = u16be(b, seg + 3);
      components = b[seg + 5];
    } else if (marker === 0xe1 && ascii(b, seg, 6) === 'Exif\0\0') {
      orientation = exifOrientation(b.subarray(seg + 6, o + 2 + len));
    } else if (marker === 0xe2 && ascii(b, seg, 12) === 'ICC_PROFILE\0') {
      iccParts.push({ seq: b[seg + 12], data: b.subarray(seg + 14, o + 2 + len) });
    } else if (marker === 0xee && ascii(b, seg, 5) === 'Adobe') {
      adobeTransform = b[seg + 11];
    } else if (marker === 0xda) {
      break;
    }
    o += 2 + len;
  }
  if (width === 0 || height === 0) throw corrupt('JPEG has no frame header before its scan');
  // A JPEG cut short loses its end-of-image marker; decoders then invent grey rows, which we refuse to serve.
  if (!hasEoi(b, o)) throw corrupt('JPEG has no end-of-image marker (truncated)');
  let hdr = NO_HDR;
  if (iccParts.length) {
    iccParts.sort((a, c) => a.seq - c.seq);
    const facts = parseIcc(Buffer.concat(iccParts.map((p) => p.data)));
    if (facts?.cicp) hdr = hdrFromCicp(facts.cicp, 'icc-cicp');
  }
  const colorModel = components === 1 ? 'gray' : components === 4 ? (adobeTransform === 2 ? 'ycck' : 'cmyk') : 'yuv';
  return {
    format: 'jpeg',
    contentType: CONTENT_TYPES.jpeg,
    width,
    height,
    frames: 1,
    isAnimated: false,
    bitDepth: precision,
    hasAlpha: false,
    orientation,
    colorModel,
    hasIcc: iccParts.length > 0,
    hdr,
    bytes: b.length,
  };
}

function hasEoi(b: Uint8Array, from: number): boolean {
  // Trailing bytes after EOI (camera padding, appended data) are tolerated: look at the last 64 KiB for the marker.
  const start = Math.max(from, b.length - 65536);
  for (let i = b.length - 2; i >= start; i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  return false;
}
