import sharp from 'sharp';
import { MediaError } from '../errors.ts';
import type { DetectResult } from '../types.ts';
import { avifdecTo16BitPng, findAvifdec } from './avifdec.ts';
import { toMovable } from './pixel-workers.ts';

/**
 * HDR pixels must reach the tone mapper as the coded PQ/HLG values at full precision. sharp decodes them as if they
 * were sRGB, which is exactly what we want here (untouched code values), as long as no ICC transform runs — hence
 * `ignoreIcc`. Some 10/12-bit AVIFs from other encoders fail in sharp's decoder; libavif's `avifdec` (dav1d) then
 * decodes them to a 16-bit PNG instead.
 */

export interface Raw16 {
  data: Uint16Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface ResizeSpec {
  width?: number;
  height?: number;
  fit: 'cover' | 'contain' | 'inside';
}

async function sharpRaw16(
  input: Uint8Array,
  resize: ResizeSpec,
  timeoutSeconds: number,
  limitInputPixels: number,
  signal?: AbortSignal,
): Promise<Raw16> {
  let img = sharp(input, { failOn: 'error', ignoreIcc: true, autoOrient: true, limitInputPixels }).timeout({
    seconds: timeoutSeconds,
  });
  if (resize.width || resize.height) {
    img = img.resize({
      width: resize.width,
      height: resize.height,
      fit: resize.fit,
      withoutEnlargement: true,
      background: { r: 0, g: 0, b: 0, alpha: 0 },
    });
  }
  const { data, info } = await img
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const channels = info.channels === 4 ? 4 : 3;
  if (info.channels !== 3 && info.channels !== 4)
    throw new MediaError('decode_failed', `unexpected ${info.channels}-channel HDR decode`);
  // Copied at once into memory the tone-mapping thread can take over (see toMovable), so sharp's native buffer is
  // garbage from here on instead of living beside the copy; the copy is byte-wise, so alignment does not matter.
  const moved = await toMovable(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), signal);
  return {
    data: new Uint16Array(moved.buffer),
    width: info.width,
    height: info.height,
    channels,
  };
}

export async function decodeHdr16(
  input: Uint8Array,
  d: DetectResult,
  resize: ResizeSpec,
  timeoutSeconds: number,
  limitInputPixels: number,
  signal?: AbortSignal,
): Promise<Raw16> {
  try {
    return await sharpRaw16(input, resize, timeoutSeconds, limitInputPixels, signal);
  } catch (err) {
    const bin = d.format === 'avif' ? findAvifdec() : undefined;
    if (!bin) throw new MediaError('decode_failed', `HDR image could not be decoded: ${(err as Error).message}`);
    const png = await avifdecTo16BitPng(bin, input, timeoutSeconds, signal);
    return sharpRaw16(png, resize, timeoutSeconds, limitInputPixels, signal);
  }
}
