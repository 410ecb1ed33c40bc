import { crossCorrelation } from '../spectrum.ts';

/**
 * Delay estimation and time alignment. The received signal is the reference delayed by the codec look-ahead, the
 * jitter buffer and the network; the lag maximising the cross-correlation is that end-to-end delay.
 */
export function estimateDelay(ref: Float32Array, received: Float32Array, maxLag: number, minLag = 0): number {
  const r = crossCorrelation(ref, received, minLag, maxLag);
  let best = 0;
  for (let i = 1; i < r.length; i++) if (r[i] > r[best]) best = i;
  return best + minLag;
}

/** `received` shifted left by `lag` samples and cut or zero-padded to `length`. */
export function alignTo(received: Float32Array, lag: number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const j = i + lag;
    if (j >= 0 && j < received.length) out[i] = received[j];
  }
  return out;
}
