import { describe, expect, it } from 'vitest';
import { deliveryOrder, schedulePlayout } from '../../bench/audio/index.ts';

function arrivals(delays: number[]): Float64Array {
  return Float64Array.from(delays, (d, i) => (Number.isNaN(d) ? NaN : i * 20 + d));
}

describe('jitter buffer', () => {
  it('plays every packet of a clean stream after the target delay', () => {
    const r = schedulePlayout(arrivals([20, 20, 20, 20]), { fec: false, targetDelayMs: 40 });
    expect(r.actions).toEqual(['packet', 'packet', 'packet', 'packet']);
    expect(r.playoutDelayMs).toBe(60);
    expect(r.lost + r.late + r.concealed).toBe(0);
  });

  it('rebuilds a lost frame from the next packet with FEC, conceals it without', () => {
    const a = arrivals([20, NaN, 20, 20]);
    expect(schedulePlayout(a, { fec: true }).actions).toEqual(['packet', 'fec', 'packet', 'packet']);
    const noFec = schedulePlayout(a, { fec: false });
    expect(noFec.actions).toEqual(['packet', 'plc', 'packet', 'packet']);
    expect(noFec.lost).toBe(1);
  });

  it('conceals a burst except its last frame, which FEC in the next packet covers', () => {
    const r = schedulePlayout(arrivals([20, NaN, NaN, NaN, 20]), { fec: true });
    expect(r.actions).toEqual(['packet', 'plc', 'plc', 'fec', 'packet']);
    expect(r.fecRecovered).toBe(1);
    expect(r.concealed).toBe(2);
  });

  it('absorbs reordering within the target and drops packets later than it', () => {
    // Frame 1 overtaken by frame 2 (reordered) but in time; frame 3 arrives 50 ms late.
    const ok = schedulePlayout(arrivals([20, 45, 10, 20]), { fec: false, targetDelayMs: 40 });
    expect(ok.actions).toEqual(['packet', 'packet', 'packet', 'packet']);
    const late = schedulePlayout(arrivals([20, 20, 20, 110, 20]), { fec: false, targetDelayMs: 40 });
    expect(late.actions[3]).toBe('plc');
    expect(late.late).toBe(1);
  });

  it('conceals everything when nothing arrives', () => {
    const r = schedulePlayout(arrivals([NaN, NaN]), { fec: true });
    expect(r.actions).toEqual(['plc', 'plc']);
    expect(r.lost).toBe(2);
  });

  it('orders delivery by arrival time and leaves dropped packets out', () => {
    const plan = { drop: Uint8Array.from([0, 0, 1, 0]), delayMs: Float64Array.from([40, 10, 0, 0]) };
    expect(deliveryOrder(plan)).toEqual([1, 0, 3]);
  });
});
