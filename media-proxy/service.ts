import { bearerMatches } from '../common/secrets.ts';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { Coalescer } from './cache/coalesce.ts';
import { normalizeRequest, resultKey } from './cache/keys.ts';
import { describeImage } from './cache/hot-cache.ts';
import { ResultCache, type CacheHit, type CachedMeta } from './cache/result-cache.ts';
import type { MediaProxyConfig } from './config.ts';
import { detectImage } from './detect/index.ts';
import { MediaError, isMediaError } from './errors.ts';
import { Gate, checkDetected } from './limits.ts';
import {
  createProxyMetrics,
  servedCounts,
  type ProxyMetrics,
  type RequestOutcome,
  type RequestRoute,
} from './metrics.ts';
import { MissLimiter } from './miss-limiter.ts';
import { FsOriginStore, type OriginRef, type OriginStore } from './origin-store.ts';
import { signedUrl, verifySignature, type Signature } from './signing.ts';
import { GifsiclePool } from './transform/gifsicle-pool.ts';
import { transformDetected, validateRequest } from './transform/pipeline.ts';
import type { DetectResult, TransformRequest, TransformResult } from './types.ts';

function rendered(key: string, r: TransformResult, cache: Rendered['cache']): Rendered {
  const { data, ...facts } = r;
  return { key, data, meta: { ...facts, size: data.length }, image: describeImage(r), cache };
}

/** Told about every stored original; `bin/` wires the workers' pre-render enqueuer to it. */
export interface UploadEvent {
  kind: OriginRef['kind'];
  /** Ref key, e.g. `attachments/<channel>/<id>`, `emojis/<id>`, `avatars/<user>/<hash>`. */
  ref: string;
  hash: string;
  detect: DetectResult;
}

/** The service's events. A listener may be async: its rejection is logged, never fails the upload. */
export interface MediaServiceEvents {
  upload: [UploadEvent];
}

export interface MediaServiceOptions {
  config: MediaProxyConfig;
  redis: Redis;
  logger: Logger;
  registry?: Registry;
  store?: OriginStore;
}

export interface Rendered {
  key: string;
  data: Buffer;
  meta: CachedMeta;
  /** `X-Resound-Image`: dimensions, frames, animation, tone mapping (kept with hot results, built once). */
  image: string;
  cache: 'hit' | 'miss' | 'coalesced';
}

export interface WarmOutcome {
  key: string;
  request: TransformRequest;
  cache: Rendered['cache'] | 'error';
  bytes?: number;
  error?: { code: string; message: string };
}

/** A request resolved against its original: the canonical transform and the result key it is cached (and ETagged) under. */
export interface Resolved {
  request: TransformRequest;
  key: string;
}

/**
 * The media proxy without HTTP: origin store, detector, pipeline, result cache, coalescer, admission gate, miss limiter
 * and metrics. The fastify plugin (`routes/index.ts`) and the workers' pre-render processor both drive it through its
 * methods. Its constructor changes nothing process-wide (sharp's settings are the starter's job, `configureSharp`).
 * The store, cache, gate and coalescer are readable for tests and monitoring; callers use the methods.
 */
export class MediaService extends EventEmitter<MediaServiceEvents> {
  readonly store: OriginStore;
  readonly cache: ResultCache;
  readonly gate: Gate;
  readonly gifsicle: GifsiclePool;
  readonly metrics: ProxyMetrics;
  readonly registry: Registry;
  readonly coalescer = new Coalescer<{ result: TransformResult }>();
  private readonly log: RateLimitedLog;
  private readonly misses: MissLimiter;
  private readonly fresh = new Map<string, TransformResult>();
  private readonly writing = new Map<string, Promise<void>>();
  /** Answers by route and outcome, read by `resound_media_proxy_requests_total` at scrape time. */
  private readonly served = servedCounts();
  /** `Cache-Control` of every answer not bounded by a signature: the same string each time, built once. */
  private unsignedCacheControl?: string;

  constructor(private readonly opts: MediaServiceOptions) {
    super();
    const c = opts.config;
    this.registry = opts.registry ?? new Registry();
    this.metrics = createProxyMetrics(
      this.registry,
      () => ({
        memoryHits: this.cache.memoryHits,
        diskHits: this.cache.diskHits,
        hotBytes: this.cache.hot.bytes,
        hotEntries: this.cache.hot.size,
      }),
      () => this.served,
    );
    this.store = opts.store ?? new FsOriginStore(c.originDir);
    this.cache = new ResultCache({
      redis: opts.redis,
      dir: c.cacheDir,
      prefix: c.redisPrefix,
      maxBytes: c.cacheMaxBytes,
      maxEntries: c.cacheMaxEntries,
      hotMaxBytes: c.hotCacheBytes,
      touchIntervalMs: c.hotTouchMs,
      onEvict: (n) => this.metrics.evictions.inc(n),
    });
    this.gate = new Gate(c.concurrency, c.queueSize);
    this.gifsicle = new GifsiclePool({
      binary: c.gifsicle.path,
      size: c.gifsicle.pool,
      queueSize: c.queueSize,
      timeoutMs: c.limits.timeoutMs,
      maxOutputBytes: c.limits.maxInputBytes,
    });
    this.misses = new MissLimiter(c.missesPerMinute, c.missBurst);
    this.log = new RateLimitedLog(opts.logger);
  }

  /**
   * Prepares the result cache (shard directories, Lua scripts) so no request pays for it. Never fails: without its
   * disk or Redis the proxy serves uncached, and the cache recovers both lazily.
   */
  async start(): Promise<void> {
    await this.cache.start().catch((err: Error) => this.cacheDown(err));
  }

  get config(): MediaProxyConfig {
    return this.opts.config;
  }

  /** Largest original an upload may carry. */
  get maxUploadBytes(): number {
    return this.config.limits.maxInputBytes;
  }

  /** Largest `width`/`height`/`size` a request may name (the documented 1…4096 by default). */
  get maxOutputDimension(): number {
    return this.config.limits.maxOutputDimension;
  }

  async health(): Promise<Record<string, unknown>> {
    return { redis: await this.opts.redis.ping(), gifsicle: this.gifsicle.available, queued: this.gate.queued };
  }

  /** The stored asset behind a Discord-shaped ref key, or undefined. */
  findAsset(refKey: string): Promise<OriginRef | undefined> {
    return this.store.getRef(refKey);
  }

  /** `findAsset` when the store holds the ref in memory, synchronously; undefined means "ask `findAsset`". */
  peekAsset(refKey: string): OriginRef | undefined {
    return this.store.peekRef?.(refKey);
  }

  /** A result held in process memory (see `ResultCache.peek`), synchronously: the routes' hit path awaits nothing. */
  peekResult(key: string): CacheHit | undefined {
    return this.cache.peek(key);
  }

  /**
   * Checks an attachment URL's `ex`/`is`/`hm` when signing is required; answers when the signature expires (ms since
   * the epoch) so the response's max-age can stop there, or undefined when unsigned URLs are allowed.
   */
  verifyAttachment(pathname: string, sig: Partial<Signature>, nowMs = Date.now()): number | undefined {
    if (!this.config.requireSignedAttachments) return undefined;
    const check = verifySignature(this.config.signingSecret, pathname, sig, nowMs);
    if (check === 'expired') throw new MediaError('content_expired', 'This content is no longer available.');
    if (check !== 'ok') throw new MediaError('not_found', 'This content is no longer available.');
    return parseInt(sig.ex ?? '0', 16) * 1000;
  }

  /**
   * `Cache-Control` of a successful answer: results are content-addressed, so immutable for MEDIA_PROXY_MAX_AGE_S,
   * but never past the signature that admitted the request — a CDN must not keep serving a link that has expired.
   */
  cacheControl(expiresAtMs?: number, nowMs?: number): string {
    if (expiresAtMs === undefined)
      return (this.unsignedCacheControl ??= `public, max-age=${this.config.maxAgeS}, immutable`);
    const left = Math.floor((expiresAtMs - (nowMs ?? Date.now())) / 1000);
    return `public, max-age=${Math.max(0, Math.min(this.config.maxAgeS, left))}, immutable`;
  }

  /** A signed URL for a stored attachment, on the public base when one is configured. */
  signAttachment(requestBase: string, pathname: string): string {
    return signedUrl(this.config.signingSecret, this.publicBase(requestBase), pathname, this.config.signedUrlTtlS);
  }

  publicBase(requestBase: string): string {
    return this.config.publicUrl ?? requestBase;
  }

  /** True when the Authorization header carries the upload token, or when no token is configured. */
  uploadAllowed(authorization: string | undefined): boolean {
    const token = this.config.uploadToken;
    return !token || bearerMatches(authorization, token);
  }

  /** Detects an upload's format and checks every header-time limit; throws MediaError. */
  inspect(data: Uint8Array): DetectResult {
    const d = detectImage(data);
    checkDetected(d, this.config.limits);
    return d;
  }

  /** Stores an inspected original under the ref `refFor(hash)` names, counts it and tells upload listeners. */
  async storeOriginal(
    kind: OriginRef['kind'],
    data: Uint8Array,
    d: DetectResult,
    refFor: (hash: string) => string,
    filename?: string,
  ): Promise<UploadEvent> {
    const hash = await this.store.put(data);
    const ref = refFor(hash);
    const uploadedAt = new Date().toISOString();
    await this.store.putRef(ref, { hash, kind, detect: d, uploadedAt, ...(filename ? { filename } : {}) });
    this.metrics.uploads.inc({ kind });
    const event: UploadEvent = { kind, ref, hash, detect: d };
    // Not emit(): a listener's throw or rejection is logged here and never fails the upload that was stored.
    for (const listener of this.rawListeners('upload')) {
      try {
        const r: unknown = listener.call(this, event);
        if (r instanceof Promise) r.catch((err: unknown) => this.listenerFailed(err, event));
      } catch (err) {
        this.listenerFailed(err, event);
      }
    }
    return event;
  }

  private listenerFailed(err: unknown, e: UploadEvent): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.log.warn('upload-hook', { err: reason, ref: e.ref }, 'upload listener failed; the upload itself succeeded');
  }

  /** The canonical transform for `wanted` on this original and its result key; throws `bad_request` when invalid. */
  resolve(hash: string, d: DetectResult, wanted: TransformRequest): Resolved {
    validateRequest(wanted, this.config.limits);
    const request = normalizeRequest(wanted, d, this.maxOutputDimension);
    return { request, key: resultKey(hash, request) };
  }

  /** The stored original of an asset, byte for byte (`passthrough=true`); `not_found` when the store lost it. */
  async original(hash: string, d: DetectResult): Promise<{ data: Buffer | Readable; size: number }> {
    const opened = this.store.stream ? await this.store.stream(hash) : await this.wholeOriginal(hash, d);
    if (!opened) throw new MediaError('not_found', 'the original for this asset is missing from the origin store');
    return opened;
  }

  private async wholeOriginal(hash: string, d: DetectResult): Promise<{ data: Buffer; size: number } | undefined> {
    const data = await this.store.get(hash, d.bytes);
    return data && { data, size: data.length };
  }

  /** Counts a served answer by route and cache outcome (a plain increment; the counter reads it at scrape time). */
  countRequest(route: RequestRoute, cache: RequestOutcome): void {
    this.served[route][cache]++;
  }

  /**
   * Cache → coalesce → miss limiter → gate → transform → cache. `req` must be canonical (see `resolve`). A `client`
   * (the peer address) is charged one token per transform it starts; hits and joined flights cost nothing; the
   * workers' `warm()` passes none.
   */
  async render(hash: string, d: DetectResult, req: TransformRequest, key: string, client?: string): Promise<Rendered> {
    // A key in memory was rendered from a request that passed these same limits: the hot path skips re-validating.
    const hot = this.cache.peek(key);
    if (hot) return { key, data: hot.data, meta: hot.meta, image: hot.image, cache: 'hit' };
    validateRequest(req, this.config.limits);
    const hit = await this.cache.get(key).catch((err: Error) => this.cacheDown(err));
    if (hit) return { key, data: hit.data, meta: hit.meta, image: hit.image, cache: 'hit' };
    const fresh = this.fresh.get(key);
    if (fresh) return rendered(key, fresh, 'hit');
    checkDetected(d, this.config.limits);
    const joined = this.coalescer.has(key);
    if (!joined && client !== undefined) {
      const wait = this.misses.take(client);
      if (wait > 0)
        throw new MediaError('rate_limited', 'too many uncached renditions from this client; retry later', {
          'retry-after': String(wait),
        });
    }
    const flight = this.coalescer.run(key, () => this.transform(hash, d, req, key));
    if (joined) this.metrics.coalesced.inc();
    const { result } = await flight;
    return rendered(key, result, joined ? 'coalesced' : 'miss');
  }

  /** Resolves when every result-cache write started so far has landed (tests, shutdown, pre-rendering). */
  async flush(): Promise<void> {
    await Promise.all(this.writing.values());
  }

  private async transform(
    hash: string,
    d: DetectResult,
    req: TransformRequest,
    key: string,
  ): Promise<{ result: TransformResult }> {
    const original = await this.store.get(hash, d.bytes);
    if (!original) throw new MediaError('not_found', 'the original for this asset is missing from the origin store');
    this.metrics.queue.set(this.gate.queued);
    const result = await this.gate.run(async () => {
      this.metrics.active.set(this.gate.active);
      const end = this.metrics.transformSeconds.startTimer({ format: req.format });
      try {
        return await transformDetected(original, d, req, this.config.limits, { gifsicle: this.gifsicle });
      } finally {
        end();
        this.metrics.active.set(this.gate.active - 1);
      }
    });
    this.metrics.transforms.inc({ format: req.format });
    // The answer does not wait for the disk + Redis write; until it lands, `fresh` serves the result from memory, and
    // afterwards only the hot LRU (if the result fits its budget) keeps the buffer.
    this.fresh.set(key, result);
    const write = this.cache
      .put(key, result)
      .catch((err: Error) => void this.cacheDown(err))
      .finally(() => {
        this.fresh.delete(key);
        this.writing.delete(key);
      });
    this.writing.set(key, write);
    return { result };
  }

  /**
   * Pre-renders variants of an original into the result cache (the workers' `prerender` queue). Each variant is
   * resolved exactly as the routes resolve a request, so a later request for the same variant is a cache hit.
   */
  async warm(originalHash: string, variants: TransformRequest[]): Promise<WarmOutcome[]> {
    const original = await this.store.get(originalHash);
    if (!original) throw new MediaError('not_found', `no original ${originalHash} in the origin store`);
    const d = detectImage(original);
    const out: WarmOutcome[] = [];
    for (const v of variants) {
      const request = normalizeRequest(v, d, this.maxOutputDimension);
      const key = resultKey(originalHash, request);
      try {
        validateRequest(v, this.config.limits);
        const r = await this.render(originalHash, d, request, key);
        await this.writing.get(key); // pre-rendering is done only when the result is in the cache
        out.push({ key, request, cache: r.cache, bytes: r.data.length });
      } catch (err) {
        if (!isMediaError(err)) throw err;
        this.refuse(err, { route: 'warm', hash: originalHash });
        out.push({ key, request, cache: 'error', error: { code: err.code, message: err.message } });
      }
    }
    return out;
  }

  /** Without Redis (or the cache disk) images are still served, just uncached: a cache outage must not be an outage. */
  private cacheDown(err: Error): undefined {
    this.metrics.cacheErrors.inc();
    this.log.warn('cache-down', { err: err.message }, 'result cache unavailable; serving uncached');
    return undefined;
  }

  /** Counts and logs (rate-limited) a refusal; the caller turns it into its own error shape. */
  refuse(err: MediaError, ctx: Record<string, unknown>): MediaError {
    this.metrics.rejections.inc({ code: err.code });
    this.log.warn(`reject:${err.code}`, { code: err.code, ...ctx, reason: err.message }, 'media request refused');
    return err;
  }

  /** Waits for cache writes in flight; the Redis client and the origin store belong to whoever built the service. */
  async close(): Promise<void> {
    await this.flush();
    this.removeAllListeners();
  }
}
