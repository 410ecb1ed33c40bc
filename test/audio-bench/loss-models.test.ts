import { describe, expect, it } from 'vitest';
import {
  BASE_DELAY_MS,
  delayPattern,
  geTransitions,
  lossPattern,
  lossStats,
  nominalLossRate,
} from '../../bench/audio/index.ts';

const N = 400_000;

describe('loss models', () => {
  it('none drops nothing', () => {
    expect(lossStats(lossPattern({ kind: 'none' }, 1000, 1)).rate).toBe(0);
  });

  it('Bernoulli matches its rate and the geometric burst length 1/(1-p)', () => {
    for (const rate of [0.01, 0.05, 0.2]) {
      const s = lossStats(lossPattern({ kind: 'bernoulli', rate }, N, 42));
      expect(Math.abs(s.rate - rate)).toBeLessThan(0.1 * rate);
      expect(s.meanBurst).toBeCloseTo(1 / (1 - rate), 1);
    }
  });

  it('Gilbert–Elliott matches its mean loss and mean burst length', () => {
    for (const spec of [
      { kind: 'gilbert-elliott' as const, meanLoss: 0.05, meanBurst: 3 },
      { kind: 'gilbert-elliott' as const, meanLoss: 0.1, meanBurst: 5 },
    ]) {
      const s = lossStats(lossPattern(spec, N, 7));
      expect(nominalLossRate(spec)).toBeCloseTo(spec.meanLoss, 10);
      expect(Math.abs(s.rate - spec.meanLoss)).toBeLessThan(0.1 * spec.meanLoss);
      expect(Math.abs(s.meanBurst - spec.meanBurst)).toBeLessThan(0.05 * spec.meanBurst);
    }
  });

  it('derives the textbook transition probabilities', () => {
    const { pGoodToBad, pBadToGood } = geTransitions({ meanLoss: 0.05, meanBurst: 3 });
    expect(pBadToGood).toBeCloseTo(1 / 3, 12);
    expect(pGoodToBad / (pGoodToBad + pBadToGood)).toBeCloseTo(0.05, 12);
    expect(() => geTransitions({ meanLoss: 0.05, meanBurst: 0.5 })).toThrow(RangeError);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const spec = { kind: 'bernoulli' as const, rate: 0.1 };
    expect(lossPattern(spec, 5000, 9)).toEqual(lossPattern(spec, 5000, 9));
    expect(lossPattern(spec, 5000, 9)).not.toEqual(lossPattern(spec, 5000, 10));
  });
});

describe('jitter model', () => {
  it('without jitter every packet has the base delay', () => {
    expect([...delayPattern({ kind: 'none' }, 100, 1)].every((d) => d === BASE_DELAY_MS)).toBe(true);
  });

  it('±20 ms stays within its bounds, centred on the base, and reorders some packets', () => {
    const d = delayPattern({ kind: 'uniform', maxMs: 20 }, N, 3);
    let sum = 0;
    let reordered = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < d.length; i++) {
      lo = Math.min(lo, d[i]);
      hi = Math.max(hi, d[i]);
      sum += d[i];
      if (i > 0 && i * 20 + d[i] < (i - 1) * 20 + d[i - 1]) reordered++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(40);
    expect(sum / d.length).toBeCloseTo(20, 0);
    // P(d[i-1] − d[i] > 20) for two U(0, 40) draws is 1/8.
    expect(reordered / d.length).toBeGreaterThan(0.11);
    expect(reordered / d.length).toBeLessThan(0.14);
  });
});
