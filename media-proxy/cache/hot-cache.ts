import type { OutputFormat, TransformResult } from '../types.ts';

/** What the index keeps beside a cached result: the transform's facts without its bytes, plus their size. */
export type CachedMeta = Omit<TransformResult, 'data'> & { size: number };

/** A cached result as the serve path needs it: bytes, facts and the `X-Resound-Image` value, built once. */
export interface CacheHit {
  data: Buffer;
  meta: CachedMeta;
  /** `X-Resound-Image` for this result (dimensions, frames, animation, tone mapping). */
  image: string;
}

interface HotEntry extends CacheHit {
  /** Bytes this entry is charged against the budget: the result plus a fixed allowance for its metadata. */
  charge: number;
  /** When the shared index last heard of this entry (ms), and the hits served since then. */
  touchedAt: number;
  pendingHits: number;
  /** `HotCache.moves` when this entry last went to the back of the order. */
  movedAt: number;
}

/** Metadata, header strings and Map slot per entry, charged on top of the bytes so tiny results still count. */
const ENTRY_OVERHEAD = 512;

export function describeImage(
  m: Pick<CachedMeta, 'width' | 'height' | 'frames' | 'isAnimated' | 'toneMapped'>,
): string {
  return `${m.width}x${m.height}; frames=${m.frames}; animated=${m.isAnimated}${m.toneMapped ? '; tone-mapped' : ''}`;
}

export function hitOf(data: Buffer, facts: Omit<CachedMeta, 'size'>): CacheHit {
  const meta: CachedMeta = {
    format: facts.format as OutputFormat,
    contentType: facts.contentType,
    width: facts.width,
    height: facts.height,
    frames: facts.frames,
    isAnimated: facts.isAnimated,
    toneMapped: facts.toneMapped,
    size: data.length,
  };
  return { data, meta, image: describeImage(meta) };
}

/** A hit served from memory whose LRU touch is due: the shared index should hear `hits` more hits of `key`. */
export interface DueTouch {
  key: string;
  hits: number;
}

/**
 * Hot results in process memory, least recently used first out, bounded by bytes (results + a fixed per-entry
 * allowance). A Map keeps insertion order, so re-inserting on access makes its first key the least recently used
 * (an entry used while among the newest quarter stays put: LRU to within that quarter).
 * Hits served here are batched per key and reported to the shared index at most once per `touchIntervalMs`, so other
 * processes' eviction still sees the entry as used without a Redis round trip per hit.
 */
export class HotCache {
  private readonly entries = new Map<string, HotEntry>();
  private used = 0;
  /** Insertions and moves so far: an entry moved fewer than size / 4 of them ago is among the newest quarter. */
  private moves = 0;
  /** Entries pushed out by the byte bound (for tests and metrics). */
  evictions = 0;

  constructor(
    readonly maxBytes: number,
    private readonly touchIntervalMs: number,
  ) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The entry, now most recently used; `due` is set when its batched hits should be reported to the index. */
  get(key: string, now: number): { hit: CacheHit; due?: DueTouch } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // Moving to the back costs the Map a delete and an insert on every hit; an entry already among the newest quarter
    // is left where it is (it cannot be next out), so a hot working set is reordered only now and then.
    if (this.moves - e.movedAt > this.entries.size >> 2) {
      this.entries.delete(key);
      this.entries.set(key, e);
      e.movedAt = ++this.moves;
    }
    e.pendingHits++;
    if (now - e.touchedAt < this.touchIntervalMs) return { hit: e };
    const due = { key, hits: e.pendingHits };
    e.touchedAt = now;
    e.pendingHits = 0;
    return { hit: e, due };
  }

  /** Keeps `hit` (the index was just told about it at `now`) unless it alone exceeds the budget. */
  set(key: string, hit: CacheHit, now: number): void {
    const charge = hit.data.length + ENTRY_OVERHEAD;
    if (charge > this.maxBytes) return;
    this.delete(key);
    this.entries.set(key, { ...hit, charge, touchedAt: now, pendingHits: 0, movedAt: ++this.moves });
    this.used += charge;
    while (this.used > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
      this.evictions++;
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.used -= e.charge;
  }
}
