import { createRng } from '../../common/rng.ts';

/**
 * Network delay per packet. `uniform` draws each packet's one-way delay independently from base ± maxMs, which
 * reorders packets whose draws differ by more than a frame — the ±20 ms case of the benchmark matrix. `spike` is a
 * jitter spike (a busy sender, a congested hop): halfway through the clip the path stalls for `stallMs`, and the
 * packets sent meanwhile arrive together when it ends. The SFU path stalls for real, so the SFU sees the gap.
 */
export type JitterSpec = { kind: 'none' } | { kind: 'uniform'; maxMs: number } | { kind: 'spike'; stallMs: number };

/** One-way delay every packet has before jitter, so jittered delays stay non-negative. */
export const BASE_DELAY_MS = 20;

export function jitterLabel(spec: JitterSpec): string {
  if (spec.kind === 'none') return 'none';
  return spec.kind === 'uniform' ? `±${spec.maxMs}ms` : `stall-${spec.stallMs}ms`;
}

/** Where a `spike` stalls: the first frame index held back, and for how long (null for the other kinds). */
export function stallOf(spec: JitterSpec, count: number): { at: number; ms: number } | null {
  return spec.kind === 'spike' ? { at: Math.floor(count / 2), ms: spec.stallMs } : null;
}

/** Network delay (ms) of each of `count` packets. */
export function delayPattern(spec: JitterSpec, count: number, seed: number, frameMs = 20): Float64Array {
  const out = new Float64Array(count).fill(BASE_DELAY_MS);
  if (spec.kind === 'none') return out;
  if (spec.kind === 'spike') {
    const stall = stallOf(spec, count)!;
    const resumeAt = stall.at * frameMs + stall.ms;
    for (let i = stall.at; i < count; i++) out[i] = BASE_DELAY_MS + Math.max(0, resumeAt - i * frameMs);
    return out;
  }
  const base = Math.max(BASE_DELAY_MS, spec.maxMs);
  const rng = createRng(seed);
  for (let i = 0; i < count; i++) out[i] = base + (rng() * 2 - 1) * spec.maxMs;
  return out;
}
