import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { bool, isLoopbackHost, parseEnv, port, type Env } from '../common/config.ts';
import { secretFromConfigOrDataDir } from '../common/secrets.ts';
import type { Limits } from './types.ts';

const int = (dflt: number, min = 0) => z.coerce.number().int().min(min).default(dflt);

/** Every variable the media proxy reads; README.md in this folder documents each one. */
export const mediaProxyShape = {
  MEDIA_PROXY_PORT: port(8081),
  /** Port of the internal listener (/metrics, /healthz) on RESOUND_INTERNAL_BIND. */
  MEDIA_PROXY_INTERNAL_PORT: port(8082),
  /** Base URL clients use to reach us (behind the CDN); upload responses build signed URLs on it. */
  MEDIA_PROXY_PUBLIC_URL: z.string().url().optional(),
  MEDIA_PROXY_SIGNING_SECRET: z.string().min(16).optional(),
  MEDIA_PROXY_SIGNED_URL_TTL_S: int(86_400, 60),
  MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: bool(true),
  /** Bearer token for upload endpoints; unset = open on a loopback bind, generated into the data folder otherwise. */
  MEDIA_PROXY_UPLOAD_TOKEN: z.string().min(16).optional(),
  MEDIA_PROXY_ORIGIN_DIR: z.string().optional(),
  MEDIA_PROXY_CACHE_DIR: z.string().optional(),
  MEDIA_PROXY_CACHE_MAX_BYTES: int(1024 * 1024 * 1024, 1024),
  /** Result-cache entry budget beside the byte budget, so many tiny variants cannot grow the index without bound. */
  MEDIA_PROXY_CACHE_MAX_ENTRIES: int(200_000, 1),
  /** In-process LRU of hot results (bytes + metadata) in front of disk and Redis; 0 = off. */
  MEDIA_PROXY_HOT_CACHE_BYTES: int(64 * 1024 * 1024),
  /** A result served from memory refreshes its place in the shared Redis LRU at most this often (ms). */
  MEDIA_PROXY_HOT_TOUCH_MS: int(5000),
  /** Cache-missing renders each client (peer address) may start per minute; 0 = unlimited. */
  MEDIA_PROXY_MISSES_PER_MINUTE: int(600),
  /** Misses a client may start in a burst before the per-minute rate applies. */
  MEDIA_PROXY_MISS_BURST: int(120, 1),
  MEDIA_PROXY_REDIS_PREFIX: z.string().default('resound:mp:'),
  MEDIA_PROXY_MAX_AGE_S: int(31_536_000),
  MEDIA_PROXY_MAX_INPUT_BYTES: int(50 * 1024 * 1024, 1024),
  MEDIA_PROXY_MAX_PIXELS: int(100_000_000, 1),
  MEDIA_PROXY_MAX_DIMENSION: int(16_384, 1),
  MEDIA_PROXY_MAX_FRAMES: int(1000, 1),
  MEDIA_PROXY_MAX_OUTPUT_PIXELS: int(50_000_000, 1),
  /** Canvas pixels decoding at once across all transforms (the memory bound); ≥ MAX_PIXELS lets the largest run. */
  MEDIA_PROXY_PIXEL_BUDGET: int(200_000_000, 1),
  MEDIA_PROXY_MAX_OUTPUT_DIMENSION: int(4096, 16),
  MEDIA_PROXY_TIMEOUT_MS: int(15_000, 1),
  MEDIA_PROXY_CONCURRENCY: int(os.availableParallelism(), 1),
  MEDIA_PROXY_QUEUE_SIZE: int(64),
  MEDIA_PROXY_AVIF_EFFORT: z.coerce.number().int().min(0).max(9).default(3),
  MEDIA_PROXY_WEBP_EFFORT: z.coerce.number().int().min(0).max(6).default(4),
  MEDIA_PROXY_GIFSICLE_PATH: z.string().optional(),
  MEDIA_PROXY_GIFSICLE_POOL: int(2, 1),
  /** libvips threads per image; the gate already runs CONCURRENCY images at once, so 1 keeps threads ≈ cores. */
  MEDIA_PROXY_SHARP_CONCURRENCY: int(1, 0),
  /** libvips operation cache (sharp's default size); measured ~4 % faster than off even for distinct images. */
  MEDIA_PROXY_SHARP_CACHE_MB: int(50),
  /** Enqueue a `prerender` job (workers part) for every upload so common sizes are cached before the first request. */
  MEDIA_PROXY_PRERENDER: bool(true),
};

export type MediaProxyEnv = z.infer<z.ZodObject<typeof mediaProxyShape>>;

export interface MediaProxyConfig {
  port: number;
  internalPort: number;
  bind: string;
  publicUrl?: string;
  signingSecret: string;
  signedUrlTtlS: number;
  requireSignedAttachments: boolean;
  uploadToken?: string;
  originDir: string;
  cacheDir: string;
  cacheMaxBytes: number;
  cacheMaxEntries: number;
  hotCacheBytes: number;
  hotTouchMs: number;
  missesPerMinute: number;
  missBurst: number;
  redisPrefix: string;
  maxAgeS: number;
  limits: Limits;
  concurrency: number;
  queueSize: number;
  gifsicle: { path?: string; pool: number };
  sharp: { concurrency: number; cacheMb: number };
  prerenderOnUpload: boolean;
}

export function loadMediaProxyConfig(env: Env, dataDir: string, bind = '127.0.0.1'): MediaProxyConfig {
  const e = parseEnv(mediaProxyShape, env);
  const base = path.join(dataDir, 'media-proxy');
  return {
    port: e.MEDIA_PROXY_PORT,
    internalPort: e.MEDIA_PROXY_INTERNAL_PORT,
    bind,
    publicUrl: e.MEDIA_PROXY_PUBLIC_URL,
    signingSecret: secretFromConfigOrDataDir(
      e.MEDIA_PROXY_SIGNING_SECRET,
      dataDir,
      'media-proxy-signing',
      'MEDIA_PROXY_SIGNING_SECRET',
    ),
    signedUrlTtlS: e.MEDIA_PROXY_SIGNED_URL_TTL_S,
    requireSignedAttachments: e.MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS,
    // Beyond loopback uploads are never open: without a configured token one is generated (data/secrets).
    uploadToken:
      e.MEDIA_PROXY_UPLOAD_TOKEN ??
      (isLoopbackHost(bind)
        ? undefined
        : secretFromConfigOrDataDir(undefined, dataDir, 'media-proxy-upload-token', 'MEDIA_PROXY_UPLOAD_TOKEN')),
    originDir: path.resolve(e.MEDIA_PROXY_ORIGIN_DIR ?? path.join(base, 'originals')),
    cacheDir: path.resolve(e.MEDIA_PROXY_CACHE_DIR ?? path.join(base, 'results')),
    cacheMaxBytes: e.MEDIA_PROXY_CACHE_MAX_BYTES,
    cacheMaxEntries: e.MEDIA_PROXY_CACHE_MAX_ENTRIES,
    hotCacheBytes: e.MEDIA_PROXY_HOT_CACHE_BYTES,
    hotTouchMs: e.MEDIA_PROXY_HOT_TOUCH_MS,
    missesPerMinute: e.MEDIA_PROXY_MISSES_PER_MINUTE,
    missBurst: e.MEDIA_PROXY_MISS_BURST,
    redisPrefix: e.MEDIA_PROXY_REDIS_PREFIX,
    maxAgeS: e.MEDIA_PROXY_MAX_AGE_S,
    limits: {
      maxInputBytes: e.MEDIA_PROXY_MAX_INPUT_BYTES,
      maxPixels: e.MEDIA_PROXY_MAX_PIXELS,
      maxDimension: e.MEDIA_PROXY_MAX_DIMENSION,
      maxFrames: e.MEDIA_PROXY_MAX_FRAMES,
      maxOutputPixels: e.MEDIA_PROXY_MAX_OUTPUT_PIXELS,
      pixelBudget: e.MEDIA_PROXY_PIXEL_BUDGET,
      maxOutputDimension: e.MEDIA_PROXY_MAX_OUTPUT_DIMENSION,
      timeoutMs: e.MEDIA_PROXY_TIMEOUT_MS,
      avifEffort: e.MEDIA_PROXY_AVIF_EFFORT,
      webpEffort: e.MEDIA_PROXY_WEBP_EFFORT,
    },
    concurrency: e.MEDIA_PROXY_CONCURRENCY,
    queueSize: e.MEDIA_PROXY_QUEUE_SIZE,
    gifsicle: { path: e.MEDIA_PROXY_GIFSICLE_PATH, pool: e.MEDIA_PROXY_GIFSICLE_POOL },
    sharp: { concurrency: e.MEDIA_PROXY_SHARP_CONCURRENCY, cacheMb: e.MEDIA_PROXY_SHARP_CACHE_MB },
    prerenderOnUpload: e.MEDIA_PROXY_PRERENDER,
  };
}
