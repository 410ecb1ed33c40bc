import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from '../../signaling/index.ts';

describe('ReplayBuffer (v8 buffered resume)', () => {
  it('starts at 1, never issues 0, and wraps 65535 → 1', () => {
    const rb = new ReplayBuffer(8);
    expect(rb.nextSeq()).toBe(1);
    for (let i = 2; i < 65535; i++) rb.nextSeq();
    expect(rb.nextSeq()).toBe(65535);
    expect(rb.nextSeq()).toBe(1);
  });

  it('replays what follows seq_ack and forgets what was acknowledged', () => {
    const rb = new ReplayBuffer(16);
    for (let i = 0; i < 5; i++) {
      const s = rb.nextSeq();
      rb.push(s, `m${s}`);
    }
    expect(rb.since(2)).toEqual(['m3', 'm4', 'm5']);
    expect(rb.since(5)).toEqual([]);
    expect(rb.since(-1)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    rb.ack(3);
    expect(rb.since(3)).toEqual(['m4', 'm5']);
    expect(rb.since(2)).toBeNull(); // m3 is gone: the client must start over
  });

  it('reports a gap when the buffer overflowed past what the client saw', () => {
    const rb = new ReplayBuffer(3);
    for (let i = 0; i < 6; i++) {
      const s = rb.nextSeq();
      rb.push(s, `m${s}`);
    }
    expect(rb.since(3)).toEqual(['m4', 'm5', 'm6']);
    expect(rb.since(2)).toBeNull();
  });

  it('handles seq_ack across the wrap', () => {
    const rb = new ReplayBuffer(8);
    for (let i = 0; i < 65534; i++) rb.nextSeq();
    for (let i = 0; i < 4; i++) {
      const s = rb.nextSeq();
      rb.push(s, `m${s}`);
    }
    expect(rb.since(65535)).toEqual(['m1', 'm2', 'm3']);
    expect(rb.since(1)).toEqual(['m2', 'm3']);
  });
});
