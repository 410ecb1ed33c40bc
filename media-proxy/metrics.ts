import { Counter, Gauge, Histogram, Registry } from '../common/metrics.ts';

/** The proxy's instruments, on the instance's own registry so side-by-side instances never collide. */
export function createProxyMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'resound_media_proxy_requests_total',
      help: 'image requests by route and cache outcome',
      labelNames: ['route', 'cache'],
      registers: [registry],
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
  };
}

export type ProxyMetrics = ReturnType<typeof createProxyMetrics>;
