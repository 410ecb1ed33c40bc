import { Counter, Histogram, type Registry } from 'prom-client';

export interface RestMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  rejected: Counter<'code' | 'status'>;
  rateLimited: Counter<'scope'>;
  latency: Histogram<'route' | 'method'>;
}

export function createRestMetrics(registry: Registry): RestMetrics {
  return {
    requests: new Counter({
      name: 'resound_gateway_lite_requests_total',
      help: 'REST requests by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'resound_gateway_lite_rejected_total',
      help: 'REST requests answered with a Discord error, by Discord error code and HTTP status',
      labelNames: ['code', 'status'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'resound_gateway_lite_rate_limited_total',
      help: '429 answers by limit scope (user = route bucket, global, shared = invalid-request ban)',
      labelNames: ['scope'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'resound_gateway_lite_request_seconds',
      help: 'REST handling time by route template',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
