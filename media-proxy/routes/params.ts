import { SIZE_BUCKETS } from '../cache/keys.ts';
import { MediaError } from '../errors.ts';
import type { DetectResult, Fit, OutputFormat, TransformRequest } from '../types.ts';
import { TRANSFORM_PARAMS, type Query } from './query.ts';

export type RouteKind = 'attachment' | 'emoji' | 'avatar';
export type { Query } from './query.ts';

const FORMAT_ALIASES: Record<string, OutputFormat> = {
  webp: 'webp',
  avif: 'avif',
  png: 'png',
  jpeg: 'jpeg',
  jpg: 'jpeg',
  gif: 'gif',
};

export function parseFormat(v: string): OutputFormat {
  const f = FORMAT_ALIASES[v.toLowerCase()];
  if (!f) throw new MediaError('bad_request', `unknown format "${v}"; use webp, avif, png, jpeg or gif`);
  return f;
}

/**
 * The one rule for `width`, `height` and `size`: an integer 1…`max` (MEDIA_PROXY_MAX_OUTPUT_DIMENSION, 4096 by
 * default), whatever the source's size, checked before anything is decoded. Empty means absent.
 */
export function parseDim(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = /^[0-9]{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= max)) throw new MediaError('bad_request', `${name} must be an integer 1…${max}`);
  return n;
}

/**
 * `passthrough=true` asks for the stored original, byte for byte: an attachment's `url` carries it (its `proxy_url`
 * does not), as Discord's `url` is the file as uploaded. A transform parameter beside it wins, so `url` plus
 * `&width=512` still resizes, the way URLs are built from an upload's answer.
 */
export function wantsOriginal(q: Query): boolean {
  return (
    parseBool('passthrough', q.passthrough) === true && !TRANSFORM_PARAMS.some((p) => q[p] !== undefined && q[p] !== '')
  );
}

function parseBool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new MediaError('bad_request', `${name} must be true or false`);
}

/** Rounds a `size` up to Discord's next bucket; past the last bucket (a raised maximum) it stays as asked. */
export function snapSize(size: number): number {
  return SIZE_BUCKETS.find((s) => s >= size) ?? size;
}

/** AVIF > WebP > the original's own format; animated output never picks AVIF (sharp cannot write AVIF sequences). */
export function negotiateFormat(accept: string | undefined, d: DetectResult, animated: boolean): OutputFormat {
  const a = (accept ?? '').toLowerCase();
  if (a.includes('image/avif') && !animated) return 'avif';
  if (a.includes('image/webp')) return 'webp';
  switch (d.format) {
    case 'jpeg':
      return 'jpeg';
    case 'gif':
      return 'gif';
    case 'png':
    case 'apng':
      return 'png';
    default:
      return d.hasAlpha ? 'png' : 'jpeg';
  }
}

export interface ParsedRequest {
  req: TransformRequest;
  /** True when the format came from Accept: the response must carry `Vary: Accept`. */
  negotiated: boolean;
}

/**
 * Discord-shaped query (already through `readQuery`) → TransformRequest. `ext` is the URL extension for emojis/avatars
 * (it selects the format there); attachments take `format` or negotiate on Accept. `maxDim` bounds width/height/size.
 */
export function parseQuery(
  kind: RouteKind,
  q: Query,
  d: DetectResult,
  ext: string | undefined,
  accept: string | undefined,
  maxDim: number,
): ParsedRequest {
  let width = parseDim('width', q.width, maxDim);
  let height = parseDim('height', q.height, maxDim);
  const sizeRaw = parseDim('size', q.size, maxDim);
  const size = sizeRaw !== undefined ? snapSize(sizeRaw) : kind === 'emoji' && !width && !height ? 128 : undefined;
  if (size !== undefined) {
    width = Math.min(width ?? size, size);
    height = Math.min(height ?? size, size);
  }
  const keep = parseBool('keep_aspect_ratio', q.keep_aspect_ratio);
  let fit: Fit = kind === 'avatar' ? 'cover' : 'inside';
  if (keep !== undefined) fit = keep ? 'inside' : 'cover';
  if (q.fit !== undefined) {
    if (q.fit !== 'cover' && q.fit !== 'contain' && q.fit !== 'inside')
      throw new MediaError('bad_request', 'fit must be cover, contain or inside');
    fit = q.fit;
  }
  let quality: number | 'lossless' | undefined;
  if (q.quality !== undefined && q.quality !== '') {
    if (q.quality === 'lossless') quality = 'lossless';
    else if (/^\d{1,3}$/.test(q.quality) && Number(q.quality) >= 1 && Number(q.quality) <= 100)
      quality = Number(q.quality);
    else throw new MediaError('bad_request', 'quality must be "lossless" or an integer 1…100');
  }
  const animatedParam = parseBool('animated', q.animated);
  let format: OutputFormat;
  let negotiated = false;
  let animated: boolean;
  if (kind === 'attachment') {
    animated = animatedParam ?? true;
    if (q.format) format = parseFormat(q.format);
    else {
      format = negotiateFormat(accept, d, animated && d.isAnimated);
      negotiated = true;
    }
  } else {
    format = parseFormat(ext ?? 'png');
    // Discord: `.gif` is animated; `.webp` only with animated=true; other formats are stills.
    animated = format === 'gif' ? (animatedParam ?? true) : (animatedParam ?? false);
  }
  return { req: { format, width, height, fit, quality, animated }, negotiated };
}
