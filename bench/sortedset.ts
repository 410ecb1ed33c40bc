/**
 * Member-list sorted set: insert/remove latency at 1k → 1M members, the B+tree order-statistic set against a plain
 * sorted array (binary search + splice) in the same run, next to Discord's published Rust NIF figures (0.61 µs best,
 * 3.68 µs worst insert for 5k–1M items, "Using Rust to Scale Elixir for 11 Million Concurrent Users", 2019).
 * Items are the member list's real entries: one sort-key string (group rank, lower-cased name, user id) and its
 * numeric prefix; the sorted array compares the same keys.
 *
 *   npm run bench -- sortedset [--quick]
 */
import { createRng, type Rng } from '../common/rng.ts';
import { OrderStatisticSet, byKey, keyPrefix, sortKey, type Keyed } from '../gateway-lite/index.ts';
import { emit, percentile, ratio, round, sortedCopy } from './_harness.ts';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];
const OPS = quick ? 5_000 : 20_000;
const RUST_NIF = { best_us: 0.61, worst_us: 3.68 };

function memberKey(rng: Rng): Keyed {
  const rank = Math.floor(rng() * 6);
  const name = Math.floor(rng() * 36 ** 8).toString(36);
  const id = String(100000000000000000 + Math.floor(rng() * 9e17));
  return sortKey(rank, name, id);
}

interface Structure {
  add(k: Keyed): number;
  remove(k: Keyed): number;
}

function sortedArray(initial: Keyed[]): Structure {
  const arr = initial.slice().sort(byKey);
  const lower = (k: Keyed) => {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (arr[mid].key < k.key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    add: (k) => {
      const i = lower(k);
      arr.splice(i, 0, k);
      return i;
    },
    remove: (k) => {
      const i = lower(k);
      arr.splice(i, 1);
      return i;
    },
  };
}

function tree(initial: Keyed[]): Structure {
  const set = new OrderStatisticSet<Keyed>(byKey, { prefix: keyPrefix });
  for (const k of initial) set.add(k);
  return set;
}

/** Per-op latency (each op timed alone; hrtime costs ~40 ns, included) and batch means (no timer per op). */
function measure(s: Structure, size: number, keys: Keyed[]) {
  const ins = new Float64Array(keys.length);
  const rem = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const t0 = process.hrtime.bigint();
    s.add(keys[i]);
    const t1 = process.hrtime.bigint();
    s.remove(keys[i]);
    const t2 = process.hrtime.bigint();
    ins[i] = Number(t1 - t0) / 1000;
    rem[i] = Number(t2 - t1) / 1000;
  }
  // Batch means (no timer per op), best of 5 rounds: chunks of 1 % of the set are inserted then removed so the size
  // stays at N; on a shared machine the minimum is the figure least disturbed by other processes.
  const chunk = Math.max(1, Math.min(1000, Math.floor(size / 100)));
  let addBest = Infinity;
  let removeBest = Infinity;
  for (let round = 0; round < 5; round++) {
    let addNs = 0n;
    let removeNs = 0n;
    for (let from = 0; from < keys.length; from += chunk) {
      const part = keys.slice(from, from + chunk);
      const t0 = process.hrtime.bigint();
      for (const k of part) s.add(k);
      const t1 = process.hrtime.bigint();
      for (const k of part) s.remove(k);
      addNs += t1 - t0;
      removeNs += process.hrtime.bigint() - t1;
    }
    addBest = Math.min(addBest, Number(addNs) / 1000 / keys.length);
    removeBest = Math.min(removeBest, Number(removeNs) / 1000 / keys.length);
  }
  const pct = (xs: Float64Array) => {
    const s = sortedCopy(xs);
    return { p50: round(percentile(s, 50), 3), p99: round(percentile(s, 99), 3), p999: round(percentile(s, 99.9), 3) };
  };
  return {
    insert: { ...pct(ins), batch_mean_best_of_5: round(addBest, 3) },
    remove: { ...pct(rem), batch_mean_best_of_5: round(removeBest, 3) },
  };
}

// Warm the JIT on both structures before anything is recorded.
{
  const rng = createRng(1);
  const warm = Array.from({ length: 20_000 }, () => memberKey(rng));
  measure(tree(warm.slice(0, 10_000)), 10_000, warm.slice(10_000));
  measure(sortedArray(warm.slice(0, 10_000)), 10_000, warm.slice(10_000));
}

for (const n of SIZES) {
  const rng = createRng(n);
  const initial = Array.from({ length: n }, () => memberKey(rng));
  const keys = Array.from({ length: OPS }, () => memberKey(rng));
  const ours = measure(tree(initial), n, keys);
  const base = measure(sortedArray(initial), n, keys);
  for (const op of ['insert', 'remove'] as const) {
    emit({
      bench: 'sortedset',
      members: n,
      op,
      unit: 'us',
      ours: ours[op],
      baseline_sorted_array: base[op],
      ratio_p50: ratio(ours[op].p50, base[op].p50),
      ratio_p999: ratio(ours[op].p999, base[op].p999),
      ratio_batch_mean: ratio(ours[op].batch_mean_best_of_5, base[op].batch_mean_best_of_5),
      reference_rust_nif: RUST_NIF,
    });
  }
}
