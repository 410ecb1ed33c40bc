import sharp, { type Sharp } from 'sharp';
import { detectImage } from '../detect/index.ts';
import { MediaError, isMediaError } from '../errors.ts';
import {
  checkDetected,
  checkInputBytes,
  checkOutputPixels,
  checkOutputSize,
  resolveLimits,
  runWithDeadline,
  stoppedBy,
} from '../limits.ts';
import type { DetectResult, Limits, OutputFormat, TransformRequest, TransformResult } from '../types.ts';
import { CONTENT_TYPES } from '../types.ts';
import { decodeApng, type DecodedAnimation } from './apng.ts';
import { avifSequenceDecodePixels, avifdecToPngs, decodeAvifSequence, findAvifdec } from './avifdec.ts';
import { encode } from './encode.ts';
import { GifsiclePool } from './gifsicle-pool.ts';
import { decodeHdr16 } from './hdr-decode.ts';
import { pixelBudget } from './pixel-budget.ts';
import { pixelWorkers } from './pixel-workers.ts';

export interface TransformDeps {
  gifsicle?: GifsiclePool;
}

const OUTPUT_FORMATS: readonly OutputFormat[] = ['webp', 'avif', 'png', 'jpeg', 'gif'];

let defaultGifsicle: GifsiclePool | undefined;
function gifsiclePool(limits: Limits, deps?: TransformDeps): GifsiclePool {
  return (
    deps?.gifsicle ??
    (defaultGifsicle ??= new GifsiclePool({
      size: 2,
      queueSize: 64,
      timeoutMs: limits.timeoutMs,
      maxOutputBytes: limits.maxInputBytes,
    }))
  );
}

export function validateRequest(req: TransformRequest, limits: Limits): void {
  if (!OUTPUT_FORMATS.includes(req.format))
    throw new MediaError('bad_request', `format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  if (
    req.quality !== undefined &&
    req.quality !== 'lossless' &&
    !(Number.isInteger(req.quality) && req.quality >= 1 && req.quality <= 100)
  ) {
    throw new MediaError('bad_request', 'quality must be an integer 1…100 or "lossless"');
  }
  if (req.fit !== undefined && !['cover', 'contain', 'inside'].includes(req.fit))
    throw new MediaError('bad_request', 'fit must be cover, contain or inside');
  checkOutputSize(req.width, req.height, limits);
}

/**
 * Detects, checks limits, then resizes/converts one original. Throws MediaError with a stable code for every refusal.
 * This is the function the workers part calls for pre-rendering; the HTTP routes call it through the cache.
 */
export async function transformImage(
  input: Uint8Array,
  req: TransformRequest,
  limits?: Partial<Limits>,
  deps?: TransformDeps,
): Promise<TransformResult> {
  const L = resolveLimits(limits);
  checkInputBytes(input.length, L);
  validateRequest(req, L);
  const d = detectImage(input);
  checkDetected(d, L);
  return transformDetected(input, d, req, L, deps);
}

/** Same as transformImage for callers that already detected (and limit-checked) the original. */
export async function transformDetected(
  input: Uint8Array,
  d: DetectResult,
  req: TransformRequest,
  limits: Limits,
  deps?: TransformDeps,
): Promise<TransformResult> {
  const animate = (req.animated ?? true) && d.isAnimated;
  const output = checkOutputPixels(d, req, animate, limits);
  if (animate && d.format === 'avif' && req.format !== 'gif') checkAvifSequenceWork(d, limits);
  pixelBudget.resize(limits.pixelBudget);
  // Measured peak memory is ≈ 6 bytes per unit of this charge in every path: the decoded canvas (× frames), twice
  // for animations decoded frame by frame into RGBA stacks here (APNG, AVIF sequences: decoded frames, the copies
  // the compositing thread works on, the composited stack), and for HDR twice the output again (16-bit samples,
  // plus the copy the tone-mapping thread works on).
  const stacked = animate && req.format === 'webp' && (d.format === 'apng' || d.format === 'avif');
  const charge = d.width * d.height * (animate ? d.frames : 1) * (stacked ? 2 : 1) + (d.hdr.isHdr ? 2 * output : 0);
  return runWithDeadline(async (signal) => {
    const release = await pixelBudget.reserve(charge, signal);
    try {
      return await run(input, d, req, limits, signal, deps);
    } finally {
      release();
    }
  }, limits.timeoutMs);
}

/** avifdec's per-frame runs make long sequences quadratic; refuse before the first decoder starts. */
function checkAvifSequenceWork(d: DetectResult, L: Limits): void {
  const work = avifSequenceDecodePixels(d.width, d.height, d.frames);
  if (work > L.maxPixels) {
    throw new MediaError(
      'too_many_frames',
      `animating this ${d.frames}-frame AVIF sequence needs ${work} decoded pixels; the limit is ${L.maxPixels} ` +
        '(animated=false serves its first frame)',
    );
  }
}

async function run(
  input: Uint8Array,
  d: DetectResult,
  req: TransformRequest,
  L: Limits,
  signal: AbortSignal,
  deps?: TransformDeps,
): Promise<TransformResult> {
  const animate = (req.animated ?? true) && d.isAnimated;
  const seconds = Math.max(1, Math.ceil(L.timeoutMs / 1000));
  try {
    if (req.format === 'gif') {
      if (d.format === 'gif') return await viaGifsicle(input, d, req, animate, L, deps);
      if (animate) {
        throw new MediaError(
          'gif_conversion_unsupported',
          `animated ${d.format.toUpperCase()} does not convert cleanly to GIF; request format=webp`,
        );
      }
    }
    if (d.hdr.isHdr) return await hdrToSdr(input, d, req, L, seconds, signal);
    if (animate && req.format === 'webp' && d.format === 'apng')
      return await animationToWebp(await decodeApng(input, signal), req, L, seconds);
    if (animate && req.format === 'webp' && d.format === 'avif')
      return await animationToWebp(await decodeAvifSequence(input, d, seconds, signal), req, L, seconds);
    const animatedDecode = animate && req.format === 'webp' && (d.format === 'gif' || d.format === 'webp');
    let img = sharp(input, {
      failOn: 'error',
      limitInputPixels: L.maxPixels,
      animated: animatedDecode,
      autoOrient: true,
    }).timeout({ seconds });
    let extras = {};
    if (animatedDecode) {
      const meta = await img.metadata();
      extras = { loop: meta.loop ?? 0, ...(meta.delay ? { delay: meta.delay } : {}) };
    }
    img = resize(img, req).toColourspace('srgb');
    // JPEG output flattens only a source that may carry alpha (AVIF's detector cannot always tell); sharp flattens
    // before it resizes, so a letterbox's own transparent pad is not affected either way.
    const alpha = d.hasAlpha || d.format === 'avif';
    return await finish(encode(img, req, L, { ...extras, alpha }), req, animatedDecode);
  } catch (err) {
    const avifdec = d.format === 'avif' && !isMediaError(err) && !signal.aborted ? findAvifdec() : undefined;
    if (!avifdec) throw signal.aborted ? stoppedBy(signal) : asMediaError(err, d);
    // sharp's AVIF decoder refused the file (some encoders' output, sequences without a decodable primary item):
    // decode the first frame with libavif instead and run the still pipeline on that.
    const [png] = await avifdecToPngs(avifdec, input, 8, [0], seconds, signal);
    const still = { ...detectImage(png), orientation: d.orientation };
    return run(png, still, { ...req, animated: false }, L, signal, deps);
  }
}

const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

/** Only `contain` letterboxes, so only it is given a background (transparent: the pad gains an alpha channel). */
function resize(img: Sharp, req: TransformRequest): Sharp {
  if (!req.width && !req.height) return img;
  const fit = req.fit ?? 'inside';
  return img.resize({
    width: req.width,
    height: req.height,
    fit,
    withoutEnlargement: true,
    ...(fit === 'contain' ? { background: TRANSPARENT } : {}),
  });
}

async function finish(img: Sharp, req: TransformRequest, animated: boolean): Promise<TransformResult> {
  const { data, info } = await img.toBuffer({ resolveWithObject: true });
  const frames = animated ? (info.pages ?? 1) : 1;
  const height = animated && info.pageHeight ? info.pageHeight : info.height;
  return {
    data,
    format: req.format,
    contentType: CONTENT_TYPES[req.format],
    width: info.width,
    height,
    frames,
    isAnimated: frames > 1,
    toneMapped: false,
  };
}

async function hdrToSdr(
  input: Uint8Array,
  d: DetectResult,
  req: TransformRequest,
  L: Limits,
  seconds: number,
  signal: AbortSignal,
): Promise<TransformResult> {
  const raw = await decodeHdr16(
    input,
    d,
    { width: req.width, height: req.height, fit: req.fit ?? 'inside' },
    seconds,
    L.maxPixels,
    signal,
  );
  if (signal.aborted) throw stoppedBy(signal);
  const peak = d.hdr.maxCll ?? d.hdr.masteringMaxLuminance;
  const { width, height, channels } = raw;
  // Seconds of CPU for a large image: in a worker thread, terminated if the deadline passes. The samples move to
  // the thread (raw.data is left detached), so they exist once.
  const sdr = await pixelWorkers.toneMap(
    {
      src: raw.data,
      channels,
      opts: {
        transfer: d.hdr.transfer === 'hlg' ? 'hlg' : 'pq',
        primaries: d.hdr.primaries,
        ...(peak ? { sourcePeakNits: peak } : {}),
      },
    },
    signal,
  );
  const img = sharp(sdr, { raw: { width, height, channels } });
  const result = await finish(encode(img, req, L), req, false);
  return { ...result, toneMapped: true };
}

/** Decoded RGBA frames (APNG, AVIF sequences) → animated WebP; sharp cannot resize a raw stack, so frames go one by one. */
async function animationToWebp(
  anim: DecodedAnimation,
  req: TransformRequest,
  L: Limits,
  seconds: number,
): Promise<TransformResult> {
  const frameBytes = anim.width * anim.height * 4;
  let width = anim.width;
  let height = anim.height;
  let stackData = anim.rgba;
  if (req.width || req.height) {
    const frames: Buffer[] = [];
    for (let f = 0; f < anim.frames; f++) {
      const frame = anim.rgba.subarray(f * frameBytes, (f + 1) * frameBytes);
      const { data, info } = await resize(
        sharp(frame, { raw: { width: anim.width, height: anim.height, channels: 4 } }),
        req,
      )
        .raw()
        .toBuffer({ resolveWithObject: true });
      width = info.width;
      height = info.height;
      frames.push(data);
    }
    stackData = Buffer.concat(frames);
  }
  const img = sharp(stackData, {
    raw: { width, height: height * anim.frames, channels: 4, pageHeight: height },
  }).timeout({ seconds });
  return finish(encode(img, req, L, { loop: anim.loop, delay: anim.delays }), req, true);
}

async function viaGifsicle(
  input: Uint8Array,
  d: DetectResult,
  req: TransformRequest,
  animate: boolean,
  L: Limits,
  deps?: TransformDeps,
): Promise<TransformResult> {
  const quality = typeof req.quality === 'number' ? req.quality : 100;
  const data = await gifsiclePool(L, deps).run(input, {
    width: req.width,
    height: req.height,
    fit: req.fit ?? 'inside',
    sourceWidth: d.width,
    sourceHeight: d.height,
    lossy: quality >= 100 ? 0 : Math.round((100 - quality) * 2),
    firstFrameOnly: !animate,
  });
  const out = detectImage(data);
  return {
    data,
    format: 'gif',
    contentType: CONTENT_TYPES.gif,
    width: out.width,
    height: out.height,
    frames: out.frames,
    isAnimated: out.isAnimated,
    toneMapped: false,
  };
}

/** Decoder failures become typed errors: timeouts, unsupported codecs (HEIC/HEVC), and everything else as undecodable. */
function asMediaError(err: unknown, d: DetectResult): MediaError {
  if (isMediaError(err)) return err;
  const msg = (err as Error).message ?? String(err);
  if (/timeout/i.test(msg))
    return new MediaError('transform_timeout', 'transform exceeded its time budget', { 'retry-after': '1' });
  if (/pixel limit/i.test(msg)) return new MediaError('too_many_pixels', msg);
  if (d.format === 'heic' || /not supported|unsupported/i.test(msg)) {
    return new MediaError(
      'unsupported_format',
      `${d.format.toUpperCase()} could not be decoded here: ${msg.split('\n')[0]}`,
    );
  }
  return new MediaError('decode_failed', `image could not be decoded: ${msg.split('\n')[0]}`);
}
