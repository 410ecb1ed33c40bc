/** Replay windows over client counters and the server's disjoint nonce range. */
import { describe, expect, it } from 'vitest';
import { ReplayWindow, SERVER_NONCE_BASE, ServerNonceCounter, isServerRangeNonce } from '../../sfu/crypto/index.ts';

function deliver(w: ReplayWindow, counter: number): boolean {
  if (!w.check(counter)) return false;
  w.accept(counter);
  return true;
}

describe('ReplayWindow', () => {
  it('accepts each counter once, in or out of order', () => {
    const w = new ReplayWindow(128);
    for (const c of [1, 2, 5, 3, 4, 10, 7]) expect(deliver(w, c), `counter ${c}`).toBe(true);
    for (const c of [1, 5, 7, 10]) {
      expect(w.check(c)).toBe(false);
      expect(w.lastRejection).toBe('duplicate');
    }
    expect(deliver(w, 6)).toBe(true);
    expect(w.highest).toBe(10);
  });

  it('rejects counters older than the window', () => {
    const w = new ReplayWindow(128);
    deliver(w, 1000);
    expect(w.check(1000 - 128)).toBe(false);
    expect(w.lastRejection).toBe('too_old');
    expect(deliver(w, 1000 - 127)).toBe(true);
  });

  it('only accept() moves the window, so a forged packet that failed decryption changes nothing', () => {
    const w = new ReplayWindow(32);
    deliver(w, 50);
    expect(w.check(5000)).toBe(true); // pretend 5000 failed authentication: never accepted
    expect(deliver(w, 49)).toBe(true);
    expect(deliver(w, 51)).toBe(true);
  });

  it('keeps working across the 32-bit wrap-around', () => {
    const w = new ReplayWindow(128);
    for (let c = 0xfffffff0; c <= 0xffffffff; c++) expect(deliver(w, c)).toBe(true);
    for (let c = 0; c < 10; c++) expect(deliver(w, c)).toBe(true);
    expect(w.highest).toBe(9);
    expect(w.check(0xfffffffa)).toBe(false);
    expect(w.lastRejection).toBe('duplicate');
    expect(w.check(5)).toBe(false);
    // Older than the window on the far side of the wrap.
    expect(w.check(0xffffff00)).toBe(false);
    expect(w.lastRejection).toBe('too_old');
    // A counter just before the wrap that was never seen is still inside the window.
    const v = new ReplayWindow(128);
    deliver(v, 0xfffffffe);
    deliver(v, 3);
    expect(deliver(v, 0xffffffff)).toBe(true);
    expect(deliver(v, 0)).toBe(true);
    expect(deliver(v, 0xffffffff)).toBe(false);
  });

  it('a jump larger than the window clears it', () => {
    const w = new ReplayWindow(64);
    for (let c = 1; c <= 64; c++) deliver(w, c);
    expect(deliver(w, 10_000)).toBe(true);
    for (let c = 10_000 - 63; c < 10_000; c++) expect(w.check(c), `counter ${c}`).toBe(true);
  });

  it('slot reuse after the window slides does not report false duplicates', () => {
    const w = new ReplayWindow(32);
    for (let c = 1; c <= 200; c += 2) expect(deliver(w, c)).toBe(true);
    // Even counters in the window were never seen; their slots once held older odd counters.
    for (let c = 200 - 30; c < 200; c += 2) expect(w.check(c), `counter ${c}`).toBe(true);
  });

  it('reset() forgets the session', () => {
    const w = new ReplayWindow();
    deliver(w, 7);
    w.reset();
    expect(deliver(w, 7)).toBe(true);
  });

  it('refuses sizes that are not powers of two', () => {
    expect(() => new ReplayWindow(100)).toThrow();
    expect(() => new ReplayWindow(16)).toThrow();
  });
});

describe('ServerNonceCounter', () => {
  it('counts from 0x80000000 upward', () => {
    const c = new ServerNonceCounter();
    expect(c.next()).toBe(SERVER_NONCE_BASE);
    expect(c.next()).toBe(SERVER_NONCE_BASE + 1);
  });

  it('wraps inside its range, never into the client range', () => {
    const c = new ServerNonceCounter(0xfffffffe);
    expect(c.next()).toBe(0xfffffffe);
    expect(c.next()).toBe(0xffffffff);
    expect(c.wraps).toBe(0);
    expect(c.next()).toBe(SERVER_NONCE_BASE);
    expect(c.wraps).toBe(1);
  });

  it('is disjoint from the counters a client uses', () => {
    for (const n of [0, 1, 2, 1000, 0x7fffffff]) expect(isServerRangeNonce(n)).toBe(false);
    const c = new ServerNonceCounter();
    for (let i = 0; i < 1000; i++) expect(isServerRangeNonce(c.next())).toBe(true);
    expect(() => new ServerNonceCounter(5)).toThrow();
  });
});
