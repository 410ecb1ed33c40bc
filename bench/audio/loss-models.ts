import { createRng } from '../../common/rng.ts';

/**
 * Packet loss models applied at the network edge. `bernoulli` drops each packet independently; `gilbert-elliott` is
 * the two-state Markov model (good/bad) that produces bursts, parameterised by what a reader cares about: the mean
 * loss rate and the mean burst length in packets.
 */
export type LossSpec =
  | { kind: 'none' }
  | { kind: 'bernoulli'; rate: number }
  | { kind: 'gilbert-elliott'; meanLoss: number; meanBurst: number; lossInGood?: number; lossInBad?: number };

export function lossLabel(spec: LossSpec): string {
  switch (spec.kind) {
    case 'none':
      return 'none';
    case 'bernoulli':
      return `random-${round(spec.rate * 100)}%`;
    case 'gilbert-elliott':
      return `burst-${round(spec.meanLoss * 100)}%-len${round(spec.meanBurst)}`;
  }
}

/** Nominal long-run loss rate of a spec, for charts and sanity checks. */
export function nominalLossRate(spec: LossSpec): number {
  switch (spec.kind) {
    case 'none':
      return 0;
    case 'bernoulli':
      return spec.rate;
    case 'gilbert-elliott': {
      const { pGoodToBad, pBadToGood } = geTransitions(spec);
      const piBad = pGoodToBad / (pGoodToBad + pBadToGood);
      return piBad * (spec.lossInBad ?? 1) + (1 - piBad) * (spec.lossInGood ?? 0);
    }
  }
}

/**
 * Transition probabilities of the simple Gilbert model (no loss in Good, certain loss in Bad): a burst is a stay in
 * Bad, geometric with mean 1/r, and the stationary share of Bad is p/(p+r).
 */
export function geTransitions(spec: { meanLoss: number; meanBurst: number }): {
  pGoodToBad: number;
  pBadToGood: number;
} {
  if (!(spec.meanBurst >= 1)) throw new RangeError('meanBurst must be >= 1 packet');
  if (!(spec.meanLoss > 0 && spec.meanLoss < 1)) throw new RangeError('meanLoss must be in (0, 1)');
  const pBadToGood = 1 / spec.meanBurst;
  const pGoodToBad = (spec.meanLoss * pBadToGood) / (1 - spec.meanLoss);
  return { pGoodToBad, pBadToGood };
}

/** Loss decisions for `count` packets: 1 = dropped. Deterministic for a given seed. */
export function lossPattern(spec: LossSpec, count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count);
  const rng = createRng(seed);
  switch (spec.kind) {
    case 'none':
      return out;
    case 'bernoulli':
      for (let i = 0; i < count; i++) out[i] = rng() < spec.rate ? 1 : 0;
      return out;
    case 'gilbert-elliott': {
      const { pGoodToBad, pBadToGood } = geTransitions(spec);
      const lossGood = spec.lossInGood ?? 0;
      const lossBad = spec.lossInBad ?? 1;
      // Start from the stationary distribution so short clips are not biased towards Good.
      let bad = rng() < pGoodToBad / (pGoodToBad + pBadToGood);
      for (let i = 0; i < count; i++) {
        out[i] = rng() < (bad ? lossBad : lossGood) ? 1 : 0;
        bad = bad ? rng() >= pBadToGood : rng() < pGoodToBad;
      }
      return out;
    }
  }
}

/** Observed loss rate and mean burst length (runs of consecutive losses) of a pattern. */
export function lossStats(pattern: Uint8Array): { rate: number; meanBurst: number; bursts: number } {
  let lost = 0;
  let bursts = 0;
  for (let i = 0; i < pattern.length; i++) {
    if (!pattern[i]) continue;
    lost++;
    if (i === 0 || !pattern[i - 1]) bursts++;
  }
  return { rate: pattern.length ? lost / pattern.length : 0, meanBurst: bursts ? lost / bursts : 0, bursts };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
