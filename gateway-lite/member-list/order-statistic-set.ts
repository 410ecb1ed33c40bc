/**
 * An order-statistic sorted set: a B+tree whose nodes carry their subtree's item count, so `add` and `remove` report
 * the item's index, and `at`/`slice` find positions, in O(log n). The member list needs those indexes for every
 * change (Discord's INSERT/DELETE ops); a plain sorted array pays O(n) per change to move the tail, and Discord's
 * sorted_set_nif (a Vec of buckets) sums bucket lengths linearly to find an index.
 *
 * Separators are classic B+tree keys: `seps[i]` is ≤ every item of child i and > every item of child i−1. Removing
 * an item may leave a separator lower than its child's new minimum, which still routes correctly, so removals never
 * rewrite ancestors. Empty nodes are unlinked; nodes are not merged (a set that shrinks keeps some half-empty leaves,
 * which costs a little memory, never correctness).
 */
export type Compare<T> = (a: T, b: T) => number;

interface Leaf<T> {
  leaf: true;
  size: number;
  items: T[];
  /** prefix(items[i]), unboxed doubles beside the items so most comparisons never dereference an item. */
  pre: number[];
  parent: Inner<T> | null;
  prev: Leaf<T> | null;
  next: Leaf<T> | null;
}

interface Inner<T> {
  leaf: false;
  size: number;
  children: Node<T>[];
  /** children[i].size, kept beside the pointers so computing an index scans numbers instead of chasing children. */
  sizes: number[];
  /** seps[i] routes to children[i]; seps[0] is never consulted. */
  seps: T[];
  sepPre: number[];
  parent: Inner<T> | null;
}

type Node<T> = Leaf<T> | Inner<T>;

export interface OrderStatisticSetOptions<T> {
  /** Items per leaf before it splits (measured: 64–128 is fastest for 1k–1M items). */
  leafSize?: number;
  /** Children per inner node before it splits. */
  branching?: number;
  /**
   * A number that never decreases along the order (compare(a, b) < 0 ⇒ prefix(a) ≤ prefix(b)), e.g. a group rank
   * and the first characters of a name. Searches compare these plain numbers first and call `compare` only on a
   * tie, which saves a pointer chase per step in big sets.
   */
  prefix?: (item: T) => number;
}

export class OrderStatisticSet<T> implements Iterable<T> {
  private root: Node<T>;
  private readonly leafSize: number;
  private readonly branching: number;
  private readonly prefix: (item: T) => number;
  /** The inner nodes and child slots of the last descent (reused: no allocation per operation). */
  private readonly pathNodes: Inner<T>[] = [];
  private readonly pathIdx: number[] = [];
  private depth = 0;
  private foundLeaf: Leaf<T> | null = null;
  private foundPos = 0;

  constructor(
    private readonly compare: Compare<T>,
    opts: OrderStatisticSetOptions<T> = {},
  ) {
    this.leafSize = Math.max(4, opts.leafSize ?? 128);
    this.branching = Math.max(4, opts.branching ?? 64);
    this.prefix = opts.prefix ?? (() => 0);
    this.root = newLeaf<T>();
  }

  get size(): number {
    return this.root.size;
  }

  /** Inserts `item`; returns its index, or −1 (and changes nothing) when an equal item is already present. */
  add(item: T): number {
    const p = this.prefix(item);
    const index = this.descend(item, p);
    const node = this.foundLeaf!;
    const depth = this.depth;
    const items = node.items;
    const pos = this.lowerBound(node, item, p);
    if (pos < items.length && node.pre[pos] === p && this.compare(items[pos], item) === 0) return -1;
    items.splice(pos, 0, item);
    node.pre.splice(pos, 0, p);
    node.size++;
    for (let d = 0; d < depth; d++) {
      const inner = this.pathNodes[d];
      inner.size++;
      inner.sizes[this.pathIdx[d]]++;
    }
    if (items.length > this.leafSize) this.splitLeaf(node);
    return index + pos;
  }

  /** Removes the item equal to `item`; returns the index it had, or −1 when absent. */
  remove(item: T): number {
    const index = this.find(item);
    if (index < 0) return -1;
    const leaf = this.foundLeaf!;
    const pos = this.foundPos;
    leaf.items.splice(pos, 1);
    leaf.pre.splice(pos, 1);
    leaf.size--;
    for (let d = 0; d < this.depth; d++) {
      const inner = this.pathNodes[d];
      inner.size--;
      inner.sizes[this.pathIdx[d]]--;
    }
    if (leaf.items.length === 0) this.unlink(leaf);
    return index;
  }

  /** The index of the item equal to `item`, or −1. */
  indexOf(item: T): number {
    return this.find(item);
  }

  has(item: T): boolean {
    return this.find(item) >= 0;
  }

  /** The item at `index`, or undefined outside 0…size−1. */
  at(index: number): T | undefined {
    const loc = this.locate(index);
    return loc ? loc.leaf.items[loc.pos] : undefined;
  }

  /** Items at indexes start…end−1 (clamped to the set), in order. */
  slice(start: number, end: number = this.size): T[] {
    start = Math.max(0, start);
    end = Math.min(this.size, end);
    const out: T[] = [];
    if (start >= end) return out;
    const loc = this.locate(start);
    if (!loc) return out;
    let leaf: Leaf<T> | null = loc.leaf;
    let pos = loc.pos;
    while (leaf && out.length < end - start) {
      const take = Math.min(leaf.items.length - pos, end - start - out.length);
      for (let i = 0; i < take; i++) out.push(leaf.items[pos + i]);
      leaf = leaf.next;
      pos = 0;
    }
    return out;
  }

  toArray(): T[] {
    return this.slice(0, this.size);
  }

  *[Symbol.iterator](): Iterator<T> {
    let leaf: Leaf<T> | null = this.firstLeaf();
    for (; leaf; leaf = leaf.next) yield* leaf.items;
  }

  clear(): void {
    this.root = newLeaf<T>();
  }

  private firstLeaf(): Leaf<T> {
    let node = this.root;
    while (!node.leaf) node = node.children[0];
    return node;
  }

  /** The child of `node` whose key range holds `item`: the last child whose separator is ≤ item. */
  private route(node: Inner<T>, item: T, p: number): number {
    const seps = node.seps;
    const pre = node.sepPre;
    let lo = 1;
    let hi = seps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = pre[mid];
      if (q < p || (q === p && this.compare(seps[mid], item) <= 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private lowerBound(leaf: Leaf<T>, item: T, p: number): number {
    const items = leaf.items;
    const pre = leaf.pre;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = pre[mid];
      if (q < p || (q === p && this.compare(items[mid], item) < 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Walks from the root to the leaf `item` (prefix `p`) belongs in; leaves the leaf in `foundLeaf` and the path in
   * `pathNodes`/`pathIdx`/`depth` (fields, so add() and remove() allocate nothing) and returns how many items the
   * leaves left of it hold.
   */
  private descend(item: T, p: number): number {
    let node = this.root;
    let index = 0;
    let depth = 0;
    while (!node.leaf) {
      const c = this.route(node, item, p);
      const sizes = node.sizes;
      for (let i = 0; i < c; i++) index += sizes[i];
      this.pathNodes[depth] = node;
      this.pathIdx[depth++] = c;
      node = node.children[c];
    }
    this.depth = depth;
    this.foundLeaf = node;
    return index;
  }

  /** The item's index, or −1; leaves the leaf, slot and path in fields so remove() allocates nothing. */
  private find(item: T): number {
    const p = this.prefix(item);
    const index = this.descend(item, p);
    const node = this.foundLeaf!;
    const pos = this.lowerBound(node, item, p);
    if (pos >= node.items.length || node.pre[pos] !== p || this.compare(node.items[pos], item) !== 0) return -1;
    this.foundPos = pos;
    return index + pos;
  }

  private locate(index: number): { leaf: Leaf<T>; pos: number } | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return null;
    let node = this.root;
    while (!node.leaf) {
      const sizes = node.sizes;
      let c = 0;
      while (index >= sizes[c]) index -= sizes[c++];
      node = node.children[c];
    }
    return { leaf: node, pos: index };
  }

  private splitLeaf(leaf: Leaf<T>): void {
    const half = leaf.items.length >>> 1;
    const right: Leaf<T> = { ...newLeaf<T>(), items: leaf.items.splice(half), pre: leaf.pre.splice(half) };
    right.size = right.items.length;
    leaf.size = leaf.items.length;
    right.next = leaf.next;
    if (right.next) right.next.prev = right;
    right.prev = leaf;
    leaf.next = right;
    this.insertChild(leaf, right, right.items[0], right.pre[0]);
  }

  /** Puts `right` after `left` in left's parent (growing a new root when left is the root). */
  private insertChild(left: Node<T>, right: Node<T>, sep: T, sepPre: number): void {
    const parent = left.parent;
    if (!parent) {
      const root: Inner<T> = {
        leaf: false,
        size: left.size + right.size,
        children: [left, right],
        sizes: [left.size, right.size],
        seps: [sep, sep],
        sepPre: [sepPre, sepPre],
        parent: null,
      };
      left.parent = root;
      right.parent = root;
      this.root = root;
      return;
    }
    const at = parent.children.indexOf(left) + 1;
    parent.children.splice(at, 0, right);
    parent.sizes[at - 1] = left.size;
    parent.sizes.splice(at, 0, right.size);
    parent.seps.splice(at, 0, sep);
    parent.sepPre.splice(at, 0, sepPre);
    right.parent = parent;
    if (parent.children.length > this.branching) this.splitInner(parent);
  }

  private splitInner(node: Inner<T>): void {
    const half = node.children.length >>> 1;
    const children = node.children.splice(half);
    const sizes = node.sizes.splice(half);
    const seps = node.seps.splice(half);
    const sepPre = node.sepPre.splice(half);
    let size = 0;
    for (const n of sizes) size += n;
    const right: Inner<T> = { leaf: false, size, children, sizes, seps, sepPre, parent: node.parent };
    for (const c of children) c.parent = right;
    node.size -= size;
    this.insertChild(node, right, seps[0], sepPre[0]);
  }

  /** Detaches an empty node from its parent, cascading upward, and shortens the tree when the root has one child. */
  private unlink(node: Node<T>): void {
    if (node.leaf) {
      if (node === this.root) return;
      if (node.prev) node.prev.next = node.next;
      if (node.next) node.next.prev = node.prev;
    }
    const parent = node.parent;
    if (!parent) return;
    const at = parent.children.indexOf(node);
    parent.children.splice(at, 1);
    parent.sizes.splice(at, 1);
    parent.seps.splice(at, 1);
    parent.sepPre.splice(at, 1);
    if (parent.children.length === 0) this.unlink(parent);
    while (!this.root.leaf && this.root.children.length === 1) {
      this.root = this.root.children[0];
      this.root.parent = null;
    }
    if (!this.root.leaf && this.root.children.length === 0) this.root = newLeaf<T>();
  }
}

function newLeaf<T>(): Leaf<T> {
  return { leaf: true, size: 0, items: [], pre: [], parent: null, prev: null, next: null };
}
