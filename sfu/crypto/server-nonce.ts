/**
 * Nonce counters for server→client packets. Client and server encrypt with the same session key and the client
 * counts up from 1, so the server draws from the upper half of the 32-bit space: reusing a (key, nonce) pair would
 * break AES-GCM and XChaCha20-Poly1305 outright. At 50 packets/s per forwarded speaker the client needs years to
 * reach 2^31, and so does one receiver's server counter.
 */
export const SERVER_NONCE_BASE = 0x80000000;
const SERVER_NONCE_SPAN = 0x80000000;

/** True when a counter lies in the server's half: a client never sends one, so such a packet is a reflection. */
export function isServerRangeNonce(counter: number): boolean {
  return counter >>> 0 >= SERVER_NONCE_BASE;
}

export class ServerNonceCounter {
  /** How often the counter wrapped inside its range; above 0 the session should be re-keyed. */
  wraps = 0;
  private offset: number;

  /** `start` lies inside [SERVER_NONCE_BASE, 2^32); defaults to the base. */
  constructor(start = SERVER_NONCE_BASE) {
    if (!isServerRangeNonce(start) || start !== start >>> 0)
      throw new Error('server nonce start must be in [2^31, 2^32)');
    this.offset = (start >>> 0) - SERVER_NONCE_BASE;
  }

  /** The next counter: base, base+1, …, 2^32−1, then base again. */
  next(): number {
    if (this.offset === SERVER_NONCE_SPAN) {
      this.offset = 0;
      this.wraps++;
    }
    return SERVER_NONCE_BASE + this.offset++;
  }
}
