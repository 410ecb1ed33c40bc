import { Counter, Gauge, Histogram, Registry } from '../common/metrics.ts';
import { avifdecRunning } from './transform/avifdec.ts';
import { pixelBudget } from './transform/pixel-budget.ts';
import { pixelWorkers } from './transform/pixel-workers.ts';

/** Cache figures read at scrape time, so the hit path pays nothing for them. */
export interface CacheStats {
  memoryHits: number;
  diskHits: number;
  hotBytes: number;
  hotEntries: number;
}

export const REQUEST_ROUTES = ['attachment', 'emoji', 'avatar'] as const;
export const REQUEST_OUTCOMES = ['hit', 'miss', 'coalesced', 'not_modified', 'original'] as const;
export type RequestRoute = (typeof REQUEST_ROUTES)[number];
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];
/** Answers served, by route and outcome: plain numbers bumped per request and read at scrape time. */
export type ServedCounts = Record<RequestRoute, Record<RequestOutcome, number>>;

export function servedCounts(): ServedCounts {
  const row = () => ({ hit: 0, miss: 0, coalesced: 0, not_modified: 0, original: 0 });
  return { attachment: row(), emoji: row(), avatar: row() };
}

/** The proxy's instruments, on the instance's own registry so side-by-side instances never collide. */
export function createProxyMetrics(registry: Registry, cacheStats: () => CacheStats, served: () => ServedCounts) {
  return {
    cacheHits: new Counter({
      name: 'resound_media_proxy_cache_hits_total',
      help: 'result-cache hits since start, by tier (memory = the in-process LRU, disk = file read via the index)',
      labelNames: ['tier'],
      registers: [registry],
      collect() {
        const s = cacheStats();
        this.reset();
        this.inc({ tier: 'memory' }, s.memoryHits);
        this.inc({ tier: 'disk' }, s.diskHits);
      },
    }),
    hotBytes: new Gauge({
      name: 'resound_media_proxy_hot_cache_bytes',
      help: 'bytes charged to the in-process LRU of hot results',
      registers: [registry],
      collect() {
        this.set(cacheStats().hotBytes);
      },
    }),
    hotEntries: new Gauge({
      name: 'resound_media_proxy_hot_cache_entries',
      help: 'results held in the in-process LRU',
      registers: [registry],
      collect() {
        this.set(cacheStats().hotEntries);
      },
    }),
    // Counted in plain numbers on the request path (a labelled inc() hashes its labels each time: ~2 µs per hit).
    requests: new Counter({
      name: 'resound_media_proxy_requests_total',
      help: 'image requests by route and cache outcome',
      labelNames: ['route', 'cache'],
      registers: [registry],
      collect() {
        const counts = served();
        this.reset();
        for (const route of REQUEST_ROUTES)
          for (const cache of REQUEST_OUTCOMES)
            if (counts[route][cache] > 0) this.inc({ route, cache }, counts[route][cache]);
      },
    }),
    rejections: new Counter({
      name: 'resound_media_proxy_rejections_total',
      help: 'requests refused, by stable error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    transforms: new Counter({
      name: 'resound_media_proxy_transforms_total',
      help: 'transforms run, by output format',
      labelNames: ['format'],
      registers: [registry],
    }),
    coalesced: new Counter({
      name: 'resound_media_proxy_coalesced_total',
      help: 'requests that joined an identical transform in flight',
      registers: [registry],
    }),
    transformSeconds: new Histogram({
      name: 'resound_media_proxy_transform_seconds',
      help: 'time spent transforming one image, queue wait excluded',
      labelNames: ['format'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    uploads: new Counter({
      name: 'resound_media_proxy_uploads_total',
      help: 'originals stored, by kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    cacheErrors: new Counter({
      name: 'resound_media_proxy_cache_errors_total',
      help: 'result-cache reads/writes that failed (served uncached)',
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'resound_media_proxy_cache_evictions_total',
      help: 'results evicted from the disk cache',
      registers: [registry],
    }),
    queue: new Gauge({
      name: 'resound_media_proxy_queue_depth',
      help: 'transforms waiting for a slot',
      registers: [registry],
    }),
    active: new Gauge({
      name: 'resound_media_proxy_active_transforms',
      help: 'transforms running',
      registers: [registry],
    }),
    ...heavyWorkMetrics(registry),
  };
}

/** Process-wide heavy-work state (pixel budget, worker threads, decoder processes), read at scrape time. */
function heavyWorkMetrics(registry: Registry) {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  return {
    decodePixels: gauge('resound_media_proxy_decode_pixels', 'canvas pixels reserved by decodes in flight', () => {
      return pixelBudget.reserved;
    }),
    decodesInFlight: gauge('resound_media_proxy_decodes_in_flight', 'transforms holding a pixel reservation', () => {
      return pixelBudget.inFlight;
    }),
    decodesPeak: gauge(
      'resound_media_proxy_decodes_in_flight_peak',
      'most transforms that held pixel reservations at once',
      () => pixelBudget.peakRunning,
    ),
    budgetWaits: gauge(
      'resound_media_proxy_pixel_budget_waits',
      'transforms that had to wait for the pixel budget (since start)',
      () => pixelBudget.waits,
    ),
    pixelWorkersBusy: gauge('resound_media_proxy_pixel_workers_busy', 'pixel worker threads running a job', () => {
      return pixelWorkers.busy;
    }),
    pixelWorkersKilled: gauge(
      'resound_media_proxy_pixel_workers_killed',
      'pixel worker threads terminated because their job was stopped (since start)',
      () => pixelWorkers.killed,
    ),
    avifdecRunning: gauge('resound_media_proxy_avifdec_running', 'avifdec decoder processes alive', avifdecRunning),
  };
}

export type ProxyMetrics = ReturnType<typeof createProxyMetrics>;
