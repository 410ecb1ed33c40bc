import {
  detectImage,
  isMediaError,
  transformImage,
  type Limits,
  type MediaErrorCode,
  type TransformRequest,
} from '../media-proxy/index.ts';
import type { EmojiOutput, EmojiResult } from './emoji-types.ts';
import { JobInputError, type InputErrorCode } from './errors.ts';

/** Emoji sources are icons: anything larger than this per side is refused rather than shrunk from a poster. */
export const EMOJI_MAX_SIDE = 4096;

export interface RenderedFile extends EmojiOutput {
  data: Buffer;
}

export interface EmojiRenderRequest {
  name: string;
  sha256: string;
  sizes: number[];
  maxBytes: number;
}

const MEDIA_TO_INPUT: Partial<Record<MediaErrorCode, InputErrorCode>> = {
  corrupt_image: 'invalid_image',
  truncated_image: 'invalid_image',
  decode_failed: 'invalid_image',
  input_too_large: 'image_too_large',
  too_many_pixels: 'image_too_large',
  too_many_frames: 'image_too_large',
  dimension_too_large: 'image_too_large',
  emoji_too_large: 'image_too_large',
  unsupported_format: 'unsupported_image',
  svg_refused: 'unsupported_image',
  gif_conversion_unsupported: 'unsupported_image',
};

/** The media proxy's refusals of the input become final job failures; its overload and timeouts stay retryable. */
function asJobError(err: unknown): unknown {
  if (!isMediaError(err)) return err;
  const code = MEDIA_TO_INPUT[err.code];
  return code
    ? new JobInputError(code, `${err.code}: ${err.message}`)
    : new Error(`internal: media proxy ${err.code}: ${err.message}`);
}

/**
 * Every rendition of one emoji, through the media proxy's transform (never a copy of it): static → PNG + WebP (lossless,
 * as Discord serves emoji), animated → animated WebP + GIF (gifsicle, for legacy clients; only when the source is a
 * GIF, since the proxy refuses animated WebP/APNG → GIF). Pure: returns bytes, writes nothing.
 */
export async function renderEmoji(
  input: Buffer,
  req: EmojiRenderRequest,
  onProgress?: (pct: number) => void,
): Promise<{ files: RenderedFile[]; result: EmojiResult }> {
  const limits: Partial<Limits> = {
    maxInputBytes: req.maxBytes,
    maxDimension: EMOJI_MAX_SIDE,
    maxOutputDimension: EMOJI_MAX_SIDE,
  };
  let detected;
  try {
    detected = detectImage(input);
  } catch (err) {
    throw asJobError(err);
  }
  const animated = detected.isAnimated;
  const plan: { format: 'png' | 'webp' | 'gif'; req: Omit<TransformRequest, 'width' | 'height'> }[] = animated
    ? [
        { format: 'webp', req: { format: 'webp', quality: 80, animated: true } },
        ...(detected.format === 'gif'
          ? [{ format: 'gif' as const, req: { format: 'gif' as const, animated: true } }]
          : []),
      ]
    : [
        { format: 'png', req: { format: 'png' } },
        { format: 'webp', req: { format: 'webp', quality: 'lossless' } },
      ];
  const files: RenderedFile[] = [];
  const steps = req.sizes.length * plan.length;
  for (const size of req.sizes) {
    for (const p of plan) {
      let out;
      try {
        out = await transformImage(input, { ...p.req, width: size, height: size, fit: 'inside' }, limits);
      } catch (err) {
        throw asJobError(err);
      }
      files.push({
        file: `${size}.${p.format}`,
        format: p.format,
        size,
        width: out.width,
        height: out.height,
        bytes: out.data.length,
        data: out.data,
      });
      onProgress?.(Math.floor((files.length / steps) * 100));
    }
  }
  const largest = Math.max(...req.sizes);
  const primary = files.find((f) => f.size === largest && f.format === 'webp');
  const legacy = files.find((f) => f.size === largest && f.format === (animated ? 'gif' : 'png'));
  const result: EmojiResult = {
    name: req.name,
    is_animated: animated,
    sha256: req.sha256,
    frames: detected.frames,
    bytesIn: input.length,
    bytesOut: files.reduce((s, f) => s + f.bytes, 0),
    outputs: files.map(({ data: _data, ...o }) => o),
    reduction: primary && legacy ? 1 - primary.bytes / legacy.bytes : NaN,
  };
  return { files, result };
}
