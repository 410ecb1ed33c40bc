import { describe, expect, it } from 'vitest';
import { Gate } from '../../media-proxy/limits.ts';
import { MediaError } from '../../media-proxy/index.ts';

describe('Gate: concurrency with a bounded queue', () => {
  it('runs up to `concurrency`, queues up to `queueSize`, refuses the rest with overloaded + Retry-After', async () => {
    const gate = new Gate(2, 1);
    const r1 = await gate.acquire();
    const r2 = await gate.acquire();
    expect(gate.active).toBe(2);
    let thirdStarted = false;
    const third = gate.acquire().then((r) => {
      thirdStarted = true;
      return r;
    });
    expect(gate.queued).toBe(1);
    let refused: unknown;
    try {
      await gate.acquire();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(MediaError);
    expect((refused as MediaError).code).toBe('overloaded');
    expect((refused as MediaError).statusCode).toBe(503);
    expect((refused as MediaError).headers['retry-after']).toBe('1');
    r1();
    const r3 = await third;
    expect(thirdStarted).toBe(true);
    expect(gate.active).toBe(2);
    r1(); // releasing twice is harmless
    expect(gate.active).toBe(2);
    r2();
    r3();
    expect(gate.active).toBe(0);
  });

  it('releases the slot when the work throws', async () => {
    const gate = new Gate(1, 0);
    await expect(
      gate.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await gate.run(async () => 42)).toBe(42);
  });
});
