/** The suffix-mode replay memory: recent random nonces are recognised, old generations roll off, nothing else hits. */
import { describe, expect, it } from 'vitest';
import { NonceHistory } from '../../sfu/crypto/nonce-history.ts';
import { createRng } from '../../common/rng.ts';

function nonces(count: number, seed: number): Uint8Array[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => Uint8Array.from({ length: 24 }, () => Math.floor(rng() * 256)));
}

describe('NonceHistory', () => {
  it('recognises every one of the last `remembered` nonces and none it never saw', () => {
    const h = new NonceHistory(64);
    const seen = nonces(64, 1);
    for (const n of seen) {
      expect(h.has(n, 0)).toBe(false);
      h.add(n, 0);
    }
    for (const n of seen) expect(h.has(n, 0)).toBe(true);
    for (const n of nonces(1000, 2)) expect(h.has(n, 0)).toBe(false);
  });

  it('keeps between one and two generations, then forgets the oldest', () => {
    const h = new NonceHistory(32);
    const all = nonces(32 * 3, 3);
    for (const n of all) h.add(n, 0);
    // 96 added: the first generation (0..31) is gone, the last two (32..95) are remembered.
    expect(all.slice(0, 32).filter((n) => h.has(n, 0))).toHaveLength(0);
    expect(all.slice(32).every((n) => h.has(n, 0))).toBe(true);
  });

  it('reads the nonce at an offset (the packet tail) and resets with a new key', () => {
    const h = new NonceHistory(32);
    const packet = new Uint8Array(60);
    packet.set(nonces(1, 4)[0], 36);
    h.add(packet, 36);
    expect(h.has(packet, 36)).toBe(true);
    h.reset();
    expect(h.has(packet, 36)).toBe(false);
  });
});
