import type { OriginRef } from '../origin-store.ts';
import type { TransformRequest } from '../types.ts';
import type { Query } from './query.ts';

/** What a repeat of a URL needs without re-reading its query: the checked query and its canonical request. */
export interface Resolution {
  /** The ref it was resolved against: the entry is used only while the route still finds this very object. */
  ref: OriginRef;
  q: Query;
  request: TransformRequest;
  key: string;
  /** `"<key>"`, built once. */
  etag: string;
  negotiated: boolean;
}

/**
 * Accept decides the format only through `image/avif` and `image/webp` (`negotiateFormat`), so requests differing in
 * anything else share one resolution.
 */
export function acceptClass(accept: string | undefined): string {
  if (!accept) return '';
  const a = accept.toLowerCase();
  return (a.includes('image/avif') ? 'a' : '') + (a.includes('image/webp') ? 'w' : '');
}

/**
 * Resolutions of recently requested URLs (path and query as sent, plus the Accept class), so a cache hit skips the
 * query check, parameter parsing, normalisation and key hashing. A resolution is a pure function of the URL, the
 * Accept class, the asset's ref and the (fixed) configuration; the route re-finds the ref on every request and a
 * resolution made for another ref object is not used, so a replaced asset is resolved afresh. Signature checks are
 * not memoised: they depend on the clock. Oldest entries leave first once `max` is reached.
 */
export class ResolveMemo {
  private readonly entries = new Map<string, Resolution>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  static keyOf(url: string, accept: string | undefined): string {
    return `${acceptClass(accept)} ${url}`;
  }

  get(key: string): Resolution | undefined {
    return this.entries.get(key);
  }

  set(key: string, r: Resolution): void {
    if (this.max <= 0) return;
    if (!this.entries.has(key) && this.entries.size >= this.max)
      this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, r);
  }
}
