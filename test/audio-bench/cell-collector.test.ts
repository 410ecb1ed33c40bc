import { describe, expect, it } from 'vitest';
import { CellCollector } from '../../bench/audio/index.ts';

const packets = Array.from({ length: 20 }, (_, i) => Uint8Array.of(0x78, i, 0xaa, i));
const SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);
const clean = { drop: new Uint8Array(20), delayMs: new Float64Array(20).fill(20) };

describe('cell collector', () => {
  it('maps an unshifted stream by sequence number and counts the tail', () => {
    const c = new CellCollector(packets, clean, 65530, 0);
    packets.forEach((p, i) => c.onFrame((65530 + i) & 0xffff, p));
    for (let k = 0; k < 5; k++) c.onFrame((65530 + 20 + k) & 0xffff, SILENCE);
    expect(c.got).toBe(20);
    expect(c.rx.every((p, i) => p === packets[i])).toBe(true);
    expect(c.tail).toBe(5);
    expect(c.shift).toBe(0);
  });

  it('follows the shift after the SFU drops a packet for this receiver', () => {
    const c = new CellCollector(packets, clean, 100, 0);
    let out = 100;
    packets.forEach((p, i) => {
      if (i === 7) return; // dropped inside the SFU: later output numbers close the gap
      c.onFrame(out++, p);
    });
    expect(c.got).toBe(19);
    expect(c.rx[7]).toBeUndefined();
    expect(c.rx[8]).toBe(packets[8]);
    expect(c.rx[19]).toBe(packets[19]);
    expect(c.shift).toBe(0xffff);
    expect(c.unmatched).toBe(0);
  });

  it('keeps the shift for the next cell and handles reordering and planned losses', () => {
    const plan = { drop: new Uint8Array(20), delayMs: new Float64Array(20).fill(20) };
    plan.drop[3] = 1;
    const c = new CellCollector(packets, plan, 500, 3);
    for (const i of [0, 2, 1, 5, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
      c.onFrame(500 + 3 + i, packets[i]);
    expect(c.got).toBe(19);
    expect(c.rx[3]).toBeUndefined();
    expect(c.rx[1]).toBe(packets[1]);
    expect(c.shift).toBe(3);
  });

  it('counts packets that match nothing', () => {
    const c = new CellCollector(packets, clean, 0, 0);
    c.onFrame(4, Uint8Array.of(1, 2, 3, 4, 5));
    expect(c.unmatched).toBe(1);
    expect(c.got).toBe(0);
  });
});
