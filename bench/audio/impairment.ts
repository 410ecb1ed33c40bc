import { lossLabel, lossPattern, type LossSpec } from './loss-models.ts';
import { delayPattern, jitterLabel, stallOf, type JitterSpec } from './jitter.ts';
import { seedFrom } from '../../common/rng.ts';

/**
 * What the network edge does to each packet of one cell: drop it, or deliver it after a delay. Seeds depend on the
 * fixture and the model only, so FEC on/off and every bitrate see the very same losses (paired comparisons).
 */
export interface ImpairmentPlan {
  drop: Uint8Array;
  delayMs: Float64Array;
  /** A real stall the SFU path waits out before releasing frame `at` onwards (jitter spikes only). */
  stall?: { at: number; ms: number } | null;
}

export function makePlan(fixture: string, loss: LossSpec, jitter: JitterSpec, count: number): ImpairmentPlan {
  return {
    drop: lossPattern(loss, count, seedFrom('loss', fixture, lossLabel(loss))),
    delayMs: delayPattern(jitter, count, seedFrom('jitter', fixture, jitterLabel(jitter))),
    stall: stallOf(jitter, count),
  };
}

/** Frame indices in the order the network delivers them (by arrival time; ties keep send order). */
export function deliveryOrder(plan: ImpairmentPlan, frameMs = 20): number[] {
  const idx: number[] = [];
  for (let i = 0; i < plan.drop.length; i++) if (!plan.drop[i]) idx.push(i);
  return idx.sort((a, b) => a * frameMs + plan.delayMs[a] - (b * frameMs + plan.delayMs[b]) || a - b);
}
