/**
 * Sliding-window replay detection over the 32-bit nonce counters a client puts on each packet (RFC 3711 §3.3.2 in
 * spirit). Counters compare in serial-number arithmetic, so the window keeps working when the counter wraps from
 * 2^32−1 to 0. Check before decrypting (cheap reject), accept only after the packet authenticated, so forged packets
 * cannot move the window.
 */
export type ReplayRejection = 'duplicate' | 'too_old';

export class ReplayWindow {
  /** Why the last `check` returned false. */
  lastRejection: ReplayRejection | null = null;
  private readonly bits: Uint32Array;
  private readonly mask: number;
  private top = 0;
  private empty = true;

  /** `size` counters are remembered behind the highest one seen; a power of two ≥ 32. */
  constructor(readonly size = 1024) {
    if (size < 32 || (size & (size - 1)) !== 0) throw new Error('replay window size must be a power of two ≥ 32');
    this.bits = new Uint32Array(size >>> 5);
    this.mask = size - 1;
  }

  /** The highest counter accepted so far (meaningless before the first accept). */
  get highest(): number {
    return this.top;
  }

  /** True when `counter` was not seen yet and is not older than the window. */
  check(counter: number): boolean {
    if (this.empty) return this.ok();
    const delta = ((counter >>> 0) - this.top) | 0;
    if (delta > 0) return this.ok();
    if (-delta >= this.size) return this.reject('too_old');
    return this.isSet(counter >>> 0) ? this.reject('duplicate') : this.ok();
  }

  /** Records an authenticated packet's counter; advances the window when it is the newest. */
  accept(counter: number): void {
    counter >>>= 0;
    if (this.empty) {
      this.empty = false;
      this.top = counter;
      this.bits.fill(0);
      this.set(counter);
      return;
    }
    const delta = (counter - this.top) | 0;
    if (delta > 0) {
      if (delta >= this.size) this.bits.fill(0);
      else for (let c = (this.top + 1) >>> 0, i = 0; i < delta; i++, c = (c + 1) >>> 0) this.clear(c);
      this.top = counter;
    } else if (-delta >= this.size) {
      return;
    }
    this.set(counter);
  }

  /** Forgets everything (a new session key restarts the client's counter). */
  reset(): void {
    this.empty = true;
    this.lastRejection = null;
  }

  private ok(): boolean {
    this.lastRejection = null;
    return true;
  }

  private reject(why: ReplayRejection): boolean {
    this.lastRejection = why;
    return false;
  }

  private isSet(c: number): boolean {
    const i = c & this.mask;
    return (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  private set(c: number): void {
    const i = c & this.mask;
    this.bits[i >>> 5] |= 1 << (i & 31);
  }

  private clear(c: number): void {
    const i = c & this.mask;
    this.bits[i >>> 5] &= ~(1 << (i & 31));
  }
}
