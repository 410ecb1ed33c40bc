import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../common/rng.ts';
import { OrderStatisticSet } from '../../gateway-lite/member-list/order-statistic-set.ts';

const cmp = (a: number, b: number) => a - b;

/** The reference: a plain sorted array with binary search. */
function lowerBound(arr: number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function runOps(rng: Rng, ops: number, keySpace: number, leafSize: number, branching: number, coarse = false) {
  // A coarse prefix (many ties) exercises the compare-on-tie path of every search.
  const set = new OrderStatisticSet<number>(cmp, {
    leafSize,
    branching,
    ...(coarse ? { prefix: (x: number) => Math.floor(x / 50) } : {}),
  });
  const ref: number[] = [];
  for (let i = 0; i < ops; i++) {
    const x = Math.floor(rng() * keySpace);
    const r = rng();
    // Phases that grow, then shrink, then churn, so splits and unlinks both happen at every depth.
    const addBias = i < ops / 3 ? 0.8 : i < (2 * ops) / 3 ? 0.2 : 0.5;
    const pos = lowerBound(ref, x);
    const present = ref[pos] === x;
    if (r < addBias) {
      expect(set.add(x)).toBe(present ? -1 : pos);
      if (!present) ref.splice(pos, 0, x);
    } else if (r < addBias + 0.1) {
      expect(set.indexOf(x)).toBe(present ? pos : -1);
      const k = Math.floor(rng() * (ref.length + 2)) - 1;
      expect(set.at(k)).toBe(ref[k]);
      const a = Math.floor(rng() * (ref.length + 1));
      const b = a + Math.floor(rng() * 300);
      expect(set.slice(a, b)).toEqual(ref.slice(a, b));
    } else {
      expect(set.remove(x)).toBe(present ? pos : -1);
      if (present) ref.splice(pos, 1);
    }
    expect(set.size).toBe(ref.length);
  }
  expect(set.toArray()).toEqual(ref);
  expect([...set]).toEqual(ref);
}

describe('OrderStatisticSet against a plain sorted array', () => {
  for (const [seed, leafSize, branching, coarse] of [
    [1, 4, 4, false],
    [2, 8, 4, false],
    [3, 128, 64, false],
    [4, 5, 6, false],
    [5, 4, 4, true],
    [6, 128, 64, true],
  ] as const) {
    it(`seed ${seed}, leaf ${leafSize}, branching ${branching}${coarse ? ', numeric prefix' : ''}: every add/remove/indexOf/at/slice agrees`, () => {
      runOps(createRng(seed), 6000, 3000, leafSize, branching, coarse);
    });
  }

  it('drains to empty and grows again', () => {
    const rng = createRng(99);
    const set = new OrderStatisticSet<number>(cmp, { leafSize: 4, branching: 4 });
    const xs = Array.from({ length: 500 }, (_, i) => i);
    for (const x of xs) set.add(x);
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    const ref = [...Array(500).keys()];
    for (const x of xs) {
      expect(set.remove(x)).toBe(ref.indexOf(x));
      ref.splice(ref.indexOf(x), 1);
    }
    expect(set.size).toBe(0);
    expect(set.slice(0, 10)).toEqual([]);
    expect(set.add(7)).toBe(0);
    expect(set.add(3)).toBe(0);
    expect(set.toArray()).toEqual([3, 7]);
  });
});
