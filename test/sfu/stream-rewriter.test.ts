/** Per-(sender, receiver) seq/ts rewriting, with the 16-bit seq and 32-bit timestamp wrap-arounds in play. */
import { describe, expect, it } from 'vitest';
import { FRAME_TIMESTAMP_STEP as STEP, StreamRewriter, seqDiff, tsDiff } from '../../sfu/rtp/stream-rewriter.ts';

type Out = [seq: number, ts: number];

function fwd(r: StreamRewriter, seq: number, ts: number): Out | null {
  return r.forward(seq & 0xffff, ts >>> 0) ? [r.seq, r.timestamp] : null;
}

function silence(r: StreamRewriter): Out {
  r.insertSilence();
  return [r.seq, r.timestamp];
}

const TS_NEAR_WRAP = 2 ** 32 - 2 * STEP;

describe('serial arithmetic', () => {
  it('seqDiff and tsDiff wrap', () => {
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(5, 5)).toBe(0);
    expect(tsDiff(0, 0xffffffff)).toBe(1);
    expect(tsDiff(0xfffffc40, 0x00000100)).toBeLessThan(0);
  });
});

describe('StreamRewriter', () => {
  it('passes numbers through unchanged when nothing is dropped or inserted, across both wraps', () => {
    const r = new StreamRewriter();
    for (let i = 0; i < 6; i++) {
      const seq = (65533 + i) & 0xffff;
      const ts = (TS_NEAR_WRAP + i * STEP) >>> 0;
      expect(fwd(r, seq, ts)).toEqual([seq, ts]);
    }
  });

  it('a deliberate drop keeps later output contiguous across the seq wrap', () => {
    const r = new StreamRewriter();
    const outs: Out[] = [];
    for (let i = 0; i < 8; i++) {
      const seq = (65532 + i) & 0xffff;
      const ts = (TS_NEAR_WRAP + i * STEP) >>> 0;
      if (seq === 65535 || seq === 1) r.drop(seq);
      else outs.push(fwd(r, seq, ts)!);
    }
    expect(outs.map((o) => o[0])).toEqual([65532, 65533, 65534, 65535, 0, 1]);
    // Timestamps stay the sender's: the dropped 20 ms still happened.
    expect(outs[3][1]).toBe((TS_NEAR_WRAP + 4 * STEP) >>> 0);
    expect(outs[5][1]).toBe((TS_NEAR_WRAP + 7 * STEP) >>> 0);
  });

  it('inserted silence continues seq+1, ts+960 across both wraps, and later real packets follow it', () => {
    const r = new StreamRewriter();
    expect(fwd(r, 65533, TS_NEAR_WRAP)).toEqual([65533, TS_NEAR_WRAP]);
    const tail = Array.from({ length: 5 }, () => silence(r));
    expect(tail.map((o) => o[0])).toEqual([65534, 65535, 0, 1, 2]);
    expect(tail.map((o) => o[1])).toEqual([1, 2, 3, 4, 5].map((i) => (TS_NEAR_WRAP + i * STEP) >>> 0));
    // The sender comes back where it left off: its ts would collide with the silence, so it is shifted forward.
    expect(fwd(r, 65534, TS_NEAR_WRAP + STEP)).toEqual([3, (TS_NEAR_WRAP + 6 * STEP) >>> 0]);
    expect(fwd(r, 65535, TS_NEAR_WRAP + 2 * STEP)).toEqual([4, (TS_NEAR_WRAP + 7 * STEP) >>> 0]);
    expect(fwd(r, 0, TS_NEAR_WRAP + 3 * STEP)).toEqual([5, (TS_NEAR_WRAP + 8 * STEP) >>> 0]);
  });

  it('keeps a real timestamp that is already past the inserted silence', () => {
    const r = new StreamRewriter();
    fwd(r, 100, 1000);
    silence(r);
    silence(r);
    // A wall-clock sender: 1 s later.
    expect(fwd(r, 101, 1000 + 50 * STEP)).toEqual([103, 1000 + 50 * STEP]);
  });

  it('maps a reordered packet into its own slot', () => {
    const r = new StreamRewriter();
    expect(fwd(r, 65534, 0)).toEqual([65534, 0]);
    expect(fwd(r, 0, 2 * STEP)).toEqual([0, 2 * STEP]);
    expect(fwd(r, 65535, STEP)).toEqual([65535, STEP]);
    expect(fwd(r, 1, 3 * STEP)).toEqual([1, 3 * STEP]);
  });

  it('a late packet keeps the offset that was in force for its number after a drop', () => {
    const r = new StreamRewriter();
    fwd(r, 10, 0);
    fwd(r, 12, 2 * STEP); // 11 is late
    r.drop(13);
    expect(fwd(r, 14, 4 * STEP)).toEqual([13, 4 * STEP]);
    expect(fwd(r, 11, STEP)).toEqual([11, STEP]);
    expect(fwd(r, 15, 5 * STEP)).toEqual([14, 5 * STEP]);
  });

  it('silence goes after slots still reserved for late packets, and the late packet fills its slot', () => {
    const r = new StreamRewriter();
    fwd(r, 65535, 0xffffffff - STEP + 1);
    r.drop(1); // 0 is late, 1 dropped: slot 0 stays reserved for 0
    expect(silence(r)).toEqual([1, (0xffffffff - STEP + 1 + 2 * STEP) >>> 0]);
    expect(fwd(r, 0, 0xffffffff - STEP + 1 + STEP)).toEqual([0, (0xffffffff + 1) >>> 0]);
    expect(fwd(r, 2, 0xffffffff - STEP + 1 + 3 * STEP)).toEqual([2, (0xffffffff - STEP + 1 + 3 * STEP) >>> 0]);
  });

  it('rejects duplicates and packets older than the first one forwarded', () => {
    const r = new StreamRewriter();
    fwd(r, 500, 0);
    fwd(r, 501, STEP);
    expect(fwd(r, 501, STEP)).toBeNull();
    expect(fwd(r, 499, -STEP)).toBeNull();
  });

  it('a sender that restarts its numbering continues right after the last output', () => {
    const r = new StreamRewriter();
    fwd(r, 40000, 123456);
    fwd(r, 40001, 123456 + STEP);
    expect(fwd(r, 7, 99)).toEqual([40002, 123456 + 2 * STEP]);
    expect(fwd(r, 8, 99 + STEP)).toEqual([40003, 123456 + 3 * STEP]);
  });

  it('silence before any real packet starts a numbering the first real packet continues', () => {
    const r = new StreamRewriter();
    expect(r.emitted).toBe(false);
    expect(silence(r)).toEqual([0, 0]);
    expect(r.emitted).toBe(true);
    expect(fwd(r, 9000, 777)).toEqual([1, STEP]);
    expect(fwd(r, 9001, 777 + STEP)).toEqual([2, 2 * STEP]);
  });

  it('a drop before anything was forwarded leaves plain pass-through', () => {
    const r = new StreamRewriter();
    r.drop(300);
    expect(fwd(r, 301, 5)).toEqual([301, 5]);
  });

  it('consecutive drops and silence tails keep the output gap-free (randomised, seeded, across wraps)', () => {
    let state = 0x2545f491;
    const rand = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    for (let run = 0; run < 20; run++) {
      const r = new StreamRewriter();
      // Start close enough to both wraps that every run crosses them.
      let seq = (65536 - Math.floor(rand() * 2000)) & 0xffff;
      let ts = (2 ** 32 - Math.floor(rand() * 2000) * STEP) >>> 0;
      let prev: Out | null = null;
      for (let i = 0; i < 3000; i++) {
        const roll = rand();
        let out: Out | null = null;
        if (roll < 0.1) {
          r.drop(seq);
        } else if (roll < 0.13 && prev) {
          for (let k = 0; k < 5; k++) {
            const s = silence(r);
            expect(seqDiff(s[0], prev[0])).toBe(1);
            expect(tsDiff(s[1], prev[1])).toBe(STEP);
            prev = s;
          }
          continue;
        } else {
          out = fwd(r, seq, ts);
          expect(out).not.toBeNull();
        }
        seq = (seq + 1) & 0xffff;
        ts = (ts + STEP) >>> 0;
        if (out) {
          if (prev) {
            expect(seqDiff(out[0], prev[0])).toBe(1);
            expect(tsDiff(out[1], prev[1])).toBeGreaterThan(0);
          }
          prev = out;
        }
      }
    }
  });
});
