import { SAMPLE_RATE } from './codec.ts';
import { alignTo, estimateDelay } from './metrics/align.ts';
import { logSpectralDistance } from './metrics/lsd.ts';
import { segmentalSnr } from './metrics/segsnr.ts';
import { stoi } from './metrics/stoi.ts';

export interface Scores {
  stoi: number;
  segSnrDb: number;
  lsdDb: number;
  /** End-to-end delay found by cross-correlation (ms). */
  delayMs: number;
}

/** Largest end-to-end delay searched for; far above codec look-ahead + jitter buffer + network. */
const MAX_DELAY_MS = 400;

/** Aligns `received` to `ref` by cross-correlation, then scores it. */
export function score(ref: Float32Array, received: Float32Array): Scores {
  const lag = estimateDelay(ref, received, Math.round((MAX_DELAY_MS * SAMPLE_RATE) / 1000));
  const aligned = alignTo(received, lag, ref.length);
  return {
    stoi: stoi(ref, aligned, SAMPLE_RATE),
    segSnrDb: segmentalSnr(ref, aligned),
    lsdDb: logSpectralDistance(ref, aligned),
    delayMs: (lag * 1000) / SAMPLE_RATE,
  };
}
