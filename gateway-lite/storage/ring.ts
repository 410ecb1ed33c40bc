/**
 * Consistent-hash ring with virtual nodes: a routing key (channel_id) maps to the first virtual node clockwise of its
 * hash, so adding or removing one of N nodes moves only ~1/N of the keys. Hash: FNV-1a 32 with murmur3's finaliser,
 * which spreads the short, similar strings used as keys and vnode labels well enough for placement.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing<N> {
  private readonly points: Uint32Array;
  private readonly owners: N[];

  /** `nodes` as [name, node]; names (not positions) seed the vnodes, so a renamed list order places keys the same. */
  constructor(nodes: ReadonlyArray<readonly [string, N]>, vnodes = 128) {
    if (nodes.length === 0) throw new RangeError('a hash ring needs at least one node');
    const all: Array<{ at: number; node: N }> = [];
    for (const [name, node] of nodes) for (let v = 0; v < vnodes; v++) all.push({ at: hash32(`${name}#${v}`), node });
    all.sort((a, b) => a.at - b.at);
    this.points = Uint32Array.from(all, (p) => p.at);
    this.owners = all.map((p) => p.node);
  }

  /** The node owning `key`. */
  lookup(key: string): N {
    const h = hash32(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo];
  }
}
