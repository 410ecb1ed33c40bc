import type { Sharp } from 'sharp';
import type { Limits, OutputFormat, TransformRequest } from '../types.ts';

/** Quality presets: close to imgproxy's defaults, which trade size for speed well on photos. */
export const DEFAULT_QUALITY: Record<OutputFormat, number> = { jpeg: 80, webp: 75, avif: 60, png: 100, gif: 100 };

export interface EncodeExtras {
  loop?: number;
  delay?: number[];
  /** False when the image is known to carry no alpha: JPEG output then skips flattening (default true). */
  alpha?: boolean;
}

/** Applies the output encoder; `lossless` picks the format's lossless mode (JPEG: quality 100). */
export function encode(img: Sharp, req: TransformRequest, limits: Limits, extras: EncodeExtras = {}): Sharp {
  const lossless = req.quality === 'lossless';
  const quality = typeof req.quality === 'number' ? req.quality : DEFAULT_QUALITY[req.format];
  const { alpha = true, ...anim } = extras;
  switch (req.format) {
    case 'jpeg':
      return (alpha ? img.flatten({ background: '#ffffff' }) : img).jpeg({
        quality: lossless ? 100 : quality,
        chromaSubsampling: lossless ? '4:4:4' : '4:2:0',
      });
    case 'webp':
      return img.webp({ quality, lossless, effort: limits.webpEffort, ...anim });
    case 'avif':
      return img.avif({ quality, lossless, effort: limits.avifEffort });
    case 'png':
      return img.png({ compressionLevel: 6, adaptiveFiltering: false });
    case 'gif':
      return img.gif({ ...anim });
  }
}
