import { describe, expect, it } from 'vitest';
import { Op4Limiter } from '../../gateway-lite/voice-bridge/op4-limit.ts';

describe('Op4Limiter (the voice bridge op 4 budget)', () => {
  it('allows a burst, then one per refill interval, per session', () => {
    const l = new Op4Limiter(3, 1000);
    const t0 = 1_000_000;
    expect([1, 2, 3, 4].map(() => l.take('a', t0))).toEqual([true, true, true, false]);
    expect(l.take('b', t0)).toBe(true); // another session has its own budget
    expect(l.take('a', t0 + 999)).toBe(false);
    expect(l.take('a', t0 + 1000)).toBe(true);
    expect(l.take('a', t0 + 1500)).toBe(false);
    expect(l.take('a', t0 + 2000)).toBe(true);
    // A long pause refills to the burst, never beyond it.
    expect([1, 2, 3, 4].map(() => l.take('a', t0 + 60_000))).toEqual([true, true, true, false]);
  });

  it('forgets a session that ended', () => {
    const l = new Op4Limiter(1, 60_000);
    expect(l.take('a', 0)).toBe(true);
    expect(l.take('a', 1)).toBe(false);
    l.forget('a');
    expect(l.take('a', 2)).toBe(true);
  });
});
