import { describe, expect, it, vi } from 'vitest';
import { toneMapToSdr } from '../../media-proxy/index.ts';
import { PixelWorkerPool } from '../../media-proxy/transform/pixel-workers.ts';
import { compositeFrames } from '../../media-proxy/transform/composite.ts';
import { prng } from '../../testkit/index.ts';

/** Seeded 16-bit PQ-ish samples: real variety for the tone mapper, same bytes every run. */
function samples(pixels: number, seed: number): Uint16Array {
  const rnd = prng(seed);
  const out = new Uint16Array(pixels * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 65536);
  return out;
}

describe('PixelWorkerPool: per-pixel work in killable worker threads', () => {
  it('tone-maps in a worker thread to exactly what the in-thread function gives', async () => {
    const pool = new PixelWorkerPool(1);
    try {
      const src = samples(4096, 7);
      const expected = toneMapToSdr(src.slice(), 3, { transfer: 'pq', primaries: 'bt2020' });
      const got = await pool.toneMap({ src, channels: 3, opts: { transfer: 'pq', primaries: 'bt2020' } });
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
      const frames = [
        { pixels: new Uint8Array(16).fill(200), width: 2, height: 2, x: 0, y: 0, dispose: 1, blend: 0 },
        { pixels: new Uint8Array(4).fill(255), width: 1, height: 1, x: 1, y: 1, dispose: 0, blend: 1 },
      ];
      const want = compositeFrames(2, 2, structuredClone(frames));
      expect(Buffer.from(await pool.composite({ width: 2, height: 2, frames })).equals(Buffer.from(want))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('stopping a job terminates its thread before the promise settles; queued jobs get a fresh thread', async () => {
    const pool = new PixelWorkerPool(1);
    try {
      const ac = new AbortController();
      // Large enough to keep the thread busy well past the abort below.
      const long = pool.toneMap(
        { src: samples(8_000_000, 1), channels: 3, opts: { transfer: 'hlg', primaries: 'bt2020' } },
        ac.signal,
      );
      await vi.waitFor(() => expect(pool.busy).toBe(1), { timeout: 30_000, interval: 5 });
      // Waits for the only thread, which is busy with `long`.
      const queued = pool.toneMap({ src: samples(64, 2), channels: 3, opts: { transfer: 'pq', primaries: 'p3' } });
      expect(pool.threads).toBe(1);
      ac.abort();
      await expect(long).rejects.toMatchObject({ code: 'transform_timeout', statusCode: 503 });
      expect(pool.killed).toBe(1);
      expect((await queued).length).toBe(64 * 3);
      expect(pool.threads).toBe(1); // the replacement, not a leak
      expect(pool.busy).toBe(0);
    } finally {
      await pool.close();
    }
    expect(pool.threads).toBe(0);
  });

  it('close() terminates busy threads too: their jobs fail with overloaded and nothing keeps running', async () => {
    const pool = new PixelWorkerPool(2);
    const long = pool.toneMap({
      src: samples(8_000_000, 3),
      channels: 3,
      opts: { transfer: 'pq', primaries: 'bt2020' },
    });
    await vi.waitFor(() => expect(pool.busy).toBe(1), { timeout: 30_000, interval: 5 });
    await pool.close();
    await expect(long).rejects.toMatchObject({ code: 'overloaded', statusCode: 503 });
    expect(pool.threads).toBe(0);
    await expect(
      pool.toneMap({ src: samples(4, 4), channels: 3, opts: { transfer: 'pq', primaries: 'p3' } }),
    ).rejects.toMatchObject({
      code: 'overloaded',
    });
  });
});
