import { createRng } from '../../common/rng.ts';

/**
 * Network delay per packet. `uniform` draws each packet's one-way delay independently from base ± maxMs, which
 * reorders packets whose draws differ by more than a frame — the ±20 ms case of the benchmark matrix.
 */
export type JitterSpec = { kind: 'none' } | { kind: 'uniform'; maxMs: number };

/** One-way delay every packet has before jitter, so jittered delays stay non-negative. */
export const BASE_DELAY_MS = 20;

export function jitterLabel(spec: JitterSpec): string {
  return spec.kind === 'none' ? 'none' : `±${spec.maxMs}ms`;
}

/** Network delay (ms) of each of `count` packets. */
export function delayPattern(spec: JitterSpec, count: number, seed: number): Float64Array {
  const out = new Float64Array(count).fill(BASE_DELAY_MS);
  if (spec.kind === 'none') return out;
  const base = Math.max(BASE_DELAY_MS, spec.maxMs);
  const rng = createRng(seed);
  for (let i = 0; i < count; i++) out[i] = base + (rng() * 2 - 1) * spec.maxMs;
  return out;
}
