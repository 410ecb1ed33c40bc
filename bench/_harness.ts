/** Shared bits for benchmarks: one JSON line per figure, percentiles, ratios. */
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
