import { createHash } from 'node:crypto';
import type { DetectResult, TransformRequest } from '../types.ts';
import { DEFAULT_QUALITY } from '../transform/encode.ts';

/** Bumped whenever the pipeline's output for the same request changes, so old cached results stop matching. */
export const PIPELINE_VERSION = 'r1';

/**
 * One canonical request per distinct output, decided from the original's metadata: a box with the source's own aspect
 * ratio crops or pads nothing (cover/contain become inside); inside a box only the tighter side binds (the other
 * follows from the aspect ratio), so `width=512&height=512` and `width=512` on a square source are one request; sizes
 * that cannot change the result (no enlargement) are dropped; default quality is spelled out; animation is kept only
 * where both source and format can carry it. Routes and the pre-render path (warm) both go through here, so they agree
 * on cache keys and ETags.
 */
export function normalizeRequest(req: TransformRequest, d: DetectResult): TransformRequest {
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
    if (width !== undefined && width >= srcW) width = undefined;
    if (height !== undefined && height >= srcH) height = undefined;
  } else if (width >= srcW && height >= srcH) {
    width = height = undefined;
  }
  const animated = (req.animated ?? true) && d.isAnimated && (req.format === 'webp' || req.format === 'gif');
  const quality = req.quality ?? DEFAULT_QUALITY[req.format];
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
