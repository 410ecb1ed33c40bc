/** Shared bits for benchmarks: one JSON line per figure, percentiles, ratios. */
import http from 'node:http';
export function emit(figure: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(figure) + '\n');
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function sortedCopy(values: Iterable<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function ratio(ours: number, baseline: number): number {
  return baseline === 0 ? NaN : Math.round((ours / baseline) * 1000) / 1000;
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Throughput and latency of a closed-loop load. */
export interface LoadResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  errors: number;
}

/**
 * Closed-loop load: `connections` clients each call `one()` again as soon as the last call answered, for `seconds`.
 * `one()` resolves to the call's latency in ms, or a negative number for a failed call (counted, not timed).
 */
export async function closedLoop(
  connections: number,
  seconds: number,
  one: () => Promise<number>,
): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const ms = await one();
        if (ms < 0) errors++;
        else lat.push(ms);
      }
    }),
  );
  const wall = (Date.now() - t0) / 1000;
  const s = sortedCopy(lat);
  return {
    rps: round(lat.length / wall, 0),
    p50_ms: round(percentile(s, 50), 3),
    p99_ms: round(percentile(s, 99), 3),
    requests: lat.length,
    errors,
  };
}

export interface HttpLoadRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A JSON body, made fresh per request (or the same string each time). */
  body?: () => string;
  /** Whether a 200 answer's body counts as success (default: any 200). Checking reads the body. */
  ok?: (body: string) => boolean;
}

/** `closedLoop` over HTTP: `connections` keep-alive clients; a non-200 (or a body `ok` refuses) is an error. */
export async function httpLoad(
  url: string,
  r: HttpLoadRequest,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const headers = { ...r.headers, ...(r.body ? { 'content-type': 'application/json' } : {}) };
  const one = () =>
    new Promise<number>((resolve) => {
      const t0 = process.hrtime.bigint();
      const done = (good: boolean) => resolve(good ? Number(process.hrtime.bigint() - t0) / 1e6 : -1);
      const req = http.request(url, { method: r.method, agent, headers }, (res) => {
        if (!r.ok) {
          res.resume();
          res.on('end', () => done(res.statusCode === 200));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode === 200 && r.ok!(Buffer.concat(chunks).toString())));
      });
      req.on('error', () => resolve(-1));
      req.end(r.body?.());
    });
  const result = await closedLoop(connections, seconds, one);
  agent.destroy();
  return result;
}
