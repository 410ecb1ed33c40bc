import { MediaError, isMediaError } from '../errors.ts';
import type { DetectResult } from '../types.ts';
import { ascii, fourcc, startsWith } from './bytes.ts';
import { detectGif } from './gif.ts';
import { detectIsobmff } from './isobmff.ts';
import { detectJpeg } from './jpeg.ts';
import { PNG_SIGNATURE, detectPng } from './png.ts';
import { detectWebp } from './webp.ts';

export { pngChunks, PNG_SIGNATURE } from './png.ts';
export { parseIcc } from './icc.ts';

/**
 * Identifies an image from its bytes alone, before any decoder sees it: format, canvas, frames, animation and HDR
 * signalling. Total: returns a result or throws a MediaError (`unsupported_format`, `svg_refused`, `corrupt_image`,
 * `truncated_image`); any other exception from a parser bug is reported as `corrupt_image` so input can never crash us.
 */
export function detectImage(input: Uint8Array): DetectResult {
  try {
    return sniff(input);
  } catch (err) {
    if (isMediaError(err)) throw err;
    throw new MediaError('corrupt_image', `image could not be parsed: ${(err as Error).message}`);
  }
}

function sniff(b: Uint8Array): DetectResult {
  if (b.length < 12) throw new MediaError('unsupported_format', 'file is too short to be an image');
  if (startsWith(b, [0xff, 0xd8, 0xff])) return detectJpeg(b);
  if (startsWith(b, PNG_SIGNATURE)) return detectPng(b);
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return detectGif(b);
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return detectWebp(b);
  if (fourcc(b, 4) === 'ftyp') return detectIsobmff(b);
  if (looksLikeSvg(b)) {
    throw new MediaError('svg_refused', 'SVG is refused: it is a document that can run script, not a raster image');
  }
  throw new MediaError('unsupported_format', 'not a JPEG, PNG, APNG, GIF, WebP, AVIF or HEIC image');
}

function looksLikeSvg(b: Uint8Array): boolean {
  const head = Buffer.from(b.subarray(0, 1024))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return head.startsWith('<') && head.includes('<svg');
}
