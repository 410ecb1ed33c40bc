import { createHash } from 'node:crypto';
import { DEFAULT_QUALITY } from '../transform/encode.ts';
import { DEFAULT_LIMITS, type DetectResult, type TransformRequest } from '../types.ts';

/** Bumped whenever the pipeline's output for the same request changes, so old cached results stop matching. */
export const PIPELINE_VERSION = 'r1';

/** Sizes Discord's clients snap to (`getBestMediaProxySize`); unsigned sizes are rounded up to one of these. */
export const SIZE_BUCKETS = [
  16, 20, 22, 24, 28, 32, 40, 44, 48, 56, 60, 64, 80, 96, 100, 128, 160, 240, 256, 300, 320, 480, 512, 600, 640, 1024,
  1280, 1536, 2048, 3072, 4096,
];

/** The next bucket up, never past `max`; beyond the last bucket (a raised maximum) the size stays as asked. */
export function snapUp(v: number, max: number): number {
  return Math.min(SIZE_BUCKETS.find((s) => s >= v) ?? v, Math.max(v, max));
}

/** Numeric qualities snap to the nearest multiple of 5 (5…100): 1…100 would be a hundred cache entries per size. */
export function snapQuality(q: number | 'lossless'): number | 'lossless' {
  return q === 'lossless' ? q : Math.min(100, Math.max(5, Math.round(q / 5) * 5));
}

/**
 * Transform parameters are not signed, so each distinct value is a new cache entry anyone can create. They are snapped
 * to allowed steps (README: "Security"): a box with one binding side snaps that side up to the next size bucket; a
 * crop/letterbox box scales so its longer side is a bucket and rounds the other to a multiple of 4 px, keeping its
 * aspect ratio within 4 px.
 */
function snapBox(w: number, h: number, max: number): [number, number] {
  const long = Math.max(w, h);
  const snapped = snapUp(long, max);
  const other = Math.max(4, Math.round(((long === w ? h : w) * snapped) / long / 4) * 4);
  return long === w ? [snapped, Math.min(other, snapped)] : [Math.min(other, snapped), snapped];
}

/**
 * One canonical request per distinct output, decided from the original's metadata: a box with the source's own aspect
 * ratio crops or pads nothing (cover/contain become inside); inside a box only the tighter side binds (the other
 * follows from the aspect ratio), so `width=512&height=512` and `width=512` on a square source are one request; sizes
 * that cannot change the result (no enlargement) are dropped; default quality is spelled out; animation is kept only
 * where both source and format can carry it. Routes and the pre-render path (warm) both go through here, so they agree
 * on cache keys and ETags.
 */
export function normalizeRequest(
  req: TransformRequest,
  d: DetectResult,
  maxSide = DEFAULT_LIMITS.maxOutputDimension,
): TransformRequest {
  const rotated = d.orientation >= 5 && d.orientation <= 8;
  const srcW = rotated ? d.height : d.width;
  const srcH = rotated ? d.width : d.height;
  let fit = req.fit ?? 'inside';
  let width = req.width;
  let height = req.height;
  if (width && height && fit !== 'inside' && width * srcH === height * srcW) fit = 'inside';
  if (fit === 'inside' || !(width && height)) {
    if (width && height) {
      if (width * srcH <= height * srcW) height = undefined;
      else width = undefined;
    }
    // A height whose width is a whole number is the same scale spelled by width (on a square source, height=512 is
    // width=512); one spelling, one key.
    if (height !== undefined && width === undefined && (height * srcW) % srcH === 0) {
      width = (height * srcW) / srcH;
      height = undefined;
    }
    if (width !== undefined) width = snapUp(width, maxSide);
    if (height !== undefined) height = snapUp(height, maxSide);
    if (width !== undefined && width >= srcW) width = undefined;
    if (height !== undefined && height >= srcH) height = undefined;
  } else {
    [width, height] = snapBox(width, height, maxSide);
    if (width >= srcW && height >= srcH) width = height = undefined;
  }
  const animated = (req.animated ?? true) && d.isAnimated && (req.format === 'webp' || req.format === 'gif');
  // PNG is always lossless: its quality changes nothing, so it is not part of the key.
  const quality = req.format === 'png' ? DEFAULT_QUALITY.png : snapQuality(req.quality ?? DEFAULT_QUALITY[req.format]);
  const out: TransformRequest = { format: req.format, fit: width && height ? fit : 'inside', quality, animated };
  if (width !== undefined) out.width = width;
  if (height !== undefined) out.height = height;
  return out;
}

export function resultKey(originalHash: string, n: TransformRequest): string {
  const canon = [
    PIPELINE_VERSION,
    originalHash,
    n.format,
    n.width ?? '',
    n.height ?? '',
    n.fit,
    n.quality,
    n.animated ? 1 : 0,
  ].join('|');
  return createHash('sha256').update(canon).digest('hex').slice(0, 40);
}
