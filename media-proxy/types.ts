/** Public types shared by the detector, the pipeline, the HTTP routes and the workers part. */

export type InputFormat = 'jpeg' | 'png' | 'apng' | 'gif' | 'webp' | 'avif' | 'heic';
export type OutputFormat = 'webp' | 'avif' | 'png' | 'jpeg' | 'gif';
export type Fit = 'cover' | 'contain' | 'inside';

/** Transfer characteristics named after ITU-T H.273; `pq` and `hlg` are the HDR ones we tone-map. */
export type Transfer = 'srgb' | 'bt709' | 'linear' | 'pq' | 'hlg' | 'gamma22' | 'gamma28' | 'unspecified' | 'other';
export type Primaries = 'bt709' | 'bt2020' | 'p3' | 'dci-p3' | 'bt601' | 'unspecified' | 'other';

export interface Cicp {
  primaries: number;
  transfer: number;
  matrix: number;
  fullRange: boolean;
}

export interface HdrInfo {
  /** True when the transfer is PQ or HLG: the pipeline tone-maps such images to SDR. */
  isHdr: boolean;
  transfer: Transfer;
  primaries: Primaries;
  /** Where the signalling came from: AVIF/HEIC `colr` nclx, PNG `cICP`, the ICC `cicp` tag, or nothing. */
  source: 'nclx' | 'cicp-chunk' | 'icc-cicp' | 'none';
  cicp?: Cicp;
  /** Content light level (`clli` box / `cLLi` chunk), cd/m². */
  maxCll?: number;
  maxFall?: number;
  /** Mastering display (`mdcv` box / `mDCv` chunk) luminance range, cd/m². */
  masteringMaxLuminance?: number;
  masteringMinLuminance?: number;
}

export interface DetectResult {
  format: InputFormat;
  contentType: string;
  /** Displayed size of one frame (canvas), before EXIF orientation. */
  width: number;
  height: number;
  frames: number;
  isAnimated: boolean;
  /** Loop count for animations; 0 = forever. */
  loop?: number;
  /** Per-frame durations in ms, from the container when it states them outside the frames (AVIF sequences). */
  delays?: number[];
  /** Bits per sample of the coded image (8 for most, 10/12 for HDR AVIF, 16 for 16-bit PNG). */
  bitDepth: number;
  hasAlpha: boolean;
  /** EXIF orientation 1…8 (JPEG/WebP/AVIF); 1 when absent. */
  orientation: number;
  colorModel: 'rgb' | 'gray' | 'cmyk' | 'ycck' | 'yuv' | 'palette';
  hasIcc: boolean;
  hdr: HdrInfo;
  bytes: number;
}

export interface TransformRequest {
  width?: number;
  height?: number;
  /** How to fit into width×height when both are given; default `inside`. Never enlarges. */
  fit?: Fit;
  format: OutputFormat;
  /** 1…100, or `lossless` (WebP/AVIF; PNG is always lossless). Defaults per format. */
  quality?: number | 'lossless';
  /** Keep animation when the output format can (WebP, GIF); `false` serves the first frame. Default true. */
  animated?: boolean;
}

export interface TransformResult {
  data: Buffer;
  format: OutputFormat;
  contentType: string;
  width: number;
  height: number;
  frames: number;
  isAnimated: boolean;
  /** True when an HDR (PQ/HLG) source was tone-mapped to SDR. */
  toneMapped: boolean;
}

export interface Limits {
  /** Largest original accepted, bytes. */
  maxInputBytes: number;
  /** Canvas width × height × frames, checked from the header before decoding. */
  maxPixels: number;
  /** Largest canvas side. */
  maxDimension: number;
  maxFrames: number;
  /**
   * Pixels one request may produce: output width × height × frames, computed from the header and the requested
   * geometry before decoding (a request without `width` produces the full canvas).
   */
  maxOutputPixels: number;
  /**
   * Canvas pixels (× frames) that all in-flight transforms of this process may have decoding at once; a transform
   * that does not fit waits for others to finish (see transform/pixel-budget.ts).
   */
  pixelBudget: number;
  /** Largest width/height a request may ask for. */
  maxOutputDimension: number;
  /** Wall-clock budget for one transform; past it the request fails with `transform_timeout`. */
  timeoutMs: number;
  /** AVIF encoder effort 0 (fastest) … 9; chosen for serving speed. */
  avifEffort: number;
  webpEffort: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxInputBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  maxDimension: 16_384,
  maxFrames: 1000,
  maxOutputPixels: 50_000_000,
  pixelBudget: 200_000_000,
  maxOutputDimension: 4096,
  timeoutMs: 15_000,
  avifEffort: 3,
  webpEffort: 4,
};

export const CONTENT_TYPES: Record<InputFormat | OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  apng: 'image/apng',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
};
