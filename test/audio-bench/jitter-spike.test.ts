/** The jitter-spike condition and how silence the SFU inserts mid-spurt reaches the score. */
import { describe, expect, it } from 'vitest';
import {
  BASE_DELAY_MS,
  CellCollector,
  delayPattern,
  deliveryOrder,
  receiverTimeline,
  schedulePlayout,
  stallOf,
} from '../../bench/audio/index.ts';

const packets = Array.from({ length: 20 }, (_, i) => Uint8Array.of(0x78, i, 0xaa, i));
const SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);

describe('jitter spike', () => {
  it('stalls halfway: packets sent during the stall arrive together when it ends, in order', () => {
    const spec = { kind: 'spike', stallMs: 300 } as const;
    const d = delayPattern(spec, 20, 1);
    expect(stallOf(spec, 20)).toEqual({ at: 10, ms: 300 });
    for (let i = 0; i < 10; i++) expect(d[i]).toBe(BASE_DELAY_MS);
    // Frame 10 was due at 200 ms and arrives at 200 + 300 + base; the next ones were queued behind it.
    const arrival = (i: number) => i * 20 + d[i];
    for (let i = 10; i < 20; i++) expect(arrival(i)).toBe(200 + 300 + BASE_DELAY_MS);
    const plan = { drop: new Uint8Array(20), delayMs: d };
    expect(deliveryOrder(plan)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // With a 40 ms buffer every frame held by a 300 ms stall this close to the end is late.
    const p = schedulePlayout(
      Float64Array.from({ length: 20 }, (_, i) => arrival(i)),
      { fec: false },
    );
    expect(p.late).toBe(10);
  });

  it('finds silence inserted mid-spurt, its timestamp drift, and gives it frame slots on the receiver timeline', () => {
    const clean = { drop: new Uint8Array(20), delayMs: new Float64Array(20).fill(20) };
    const c = new CellCollector(packets, clean, 1000, 0);
    let seq = 1000;
    let ts = 0;
    for (let i = 0; i < 10; i++, ts += 960) c.onFrame(seq++, packets[i], ts, i * 20);
    // The SFU's gap timer fires 200 ms after frame 9: five silence frames with their own numbers and timestamps.
    for (let k = 0; k < 5; k++, ts += 960) c.onFrame(seq++, SILENCE, ts, 9 * 20 + 200);
    for (let i = 10; i < 20; i++, ts += 960) c.onFrame(seq++, packets[i], ts, 500 + i);
    expect(c.got).toBe(20);
    expect(c.unmatched).toBe(0);
    expect(c.inserted).toEqual([{ after: 9, count: 5, delayMs: 200 }]);
    expect(c.driftMs).toBe(100);
    const arrivalMs = Float64Array.from({ length: 20 }, (_, i) => i * 20 + 20);
    const t = receiverTimeline({ packets: c.rx, arrivalMs, unexpectedLoss: 0, inserted: c.inserted });
    expect(t.packets).toHaveLength(25);
    expect(t.packets.slice(10, 15)).toEqual(Array.from({ length: 5 }, () => SILENCE));
    expect(t.packets[15]).toBe(packets[10]);
    expect(t.arrivalMs[10]).toBe(arrivalMs[9] + 200);
  });

  it('leaves a stream without insertions as it is', () => {
    const rx = { packets: [...packets], arrivalMs: new Float64Array(20).fill(20), unexpectedLoss: 0 };
    const t = receiverTimeline(rx);
    expect(t.packets).toBe(rx.packets);
    expect(t.arrivalMs).toBe(rx.arrivalMs);
  });
});
