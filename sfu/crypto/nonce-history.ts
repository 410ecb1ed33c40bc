/**
 * Replay detection for `xsalsa20_poly1305_suffix`, whose 24-byte nonce is random: no counter to slide a window over,
 * so the last nonces themselves are remembered. Two generations of an open-addressing table keyed by the first 8
 * nonce bytes (random, so collisions are a 2^-64 event): lookups check both, inserts go to the current one, and when
 * it holds `remembered` entries the older generation is dropped. Between `remembered` and 2·`remembered` recent
 * nonces are always remembered; no allocation per packet.
 */
export class NonceHistory {
  private current: Uint32Array;
  private previous: Uint32Array;
  private count = 0;
  private readonly mask: number;

  /** `remembered`: a power of two ≥ 32. */
  constructor(readonly remembered = 1024) {
    if (remembered < 32 || (remembered & (remembered - 1)) !== 0)
      throw new Error('nonce history size must be a power of two ≥ 32');
    // Twice as many slots as entries keeps probes short; two words per slot.
    this.mask = remembered * 2 - 1;
    this.current = new Uint32Array(remembered * 4);
    this.previous = new Uint32Array(remembered * 4);
  }

  /** True when the nonce at `nonce[offset..offset+8)` was seen recently. */
  has(nonce: Uint8Array, offset: number): boolean {
    const hi = readU32(nonce, offset);
    const lo = readU32(nonce, offset + 4) || 1; // 0 marks an empty slot
    return this.find(this.current, hi, lo) || this.find(this.previous, hi, lo);
  }

  /** Remembers an authenticated packet's nonce. */
  add(nonce: Uint8Array, offset: number): void {
    const hi = readU32(nonce, offset);
    const lo = readU32(nonce, offset + 4) || 1;
    if (this.count >= this.remembered) {
      const t = this.previous;
      this.previous = this.current;
      this.current = t;
      t.fill(0);
      this.count = 0;
    }
    const table = this.current;
    for (let i = (hi ^ lo) & this.mask; ; i = (i + 1) & this.mask) {
      if (table[2 * i + 1] === 0) {
        table[2 * i] = hi;
        table[2 * i + 1] = lo;
        this.count++;
        return;
      }
      if (table[2 * i] === hi && table[2 * i + 1] === lo) return;
    }
  }

  reset(): void {
    this.current.fill(0);
    this.previous.fill(0);
    this.count = 0;
  }

  private find(table: Uint32Array, hi: number, lo: number): boolean {
    for (let i = (hi ^ lo) & this.mask; ; i = (i + 1) & this.mask) {
      const l = table[2 * i + 1];
      if (l === 0) return false;
      if (l === lo && table[2 * i] === hi) return true;
    }
  }
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
