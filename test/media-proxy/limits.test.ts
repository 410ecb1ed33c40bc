import { describe, expect, it } from 'vitest';
import { Gate, checkOutputPixels, outputSize, runWithDeadline } from '../../media-proxy/limits.ts';
import { DEFAULT_LIMITS, MediaError, type DetectResult } from '../../media-proxy/index.ts';
import { PixelBudget } from '../../media-proxy/transform/pixel-budget.ts';

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

/** A promise settled from outside, for work that ignores its abort signal (like a libvips call in progress). */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('runWithDeadline: the caller is answered at the deadline, the slot is freed when the work ends', () => {
  it('aborts the work, rejects with transform_timeout + Retry-After, and holds the Gate slot until the work settles', async () => {
    const gate = new Gate(1, 4);
    const stubborn = deferred();
    let aborted = false;
    const first = gate.run(() =>
      runWithDeadline(async (signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        await stubborn.promise; // keeps running after the abort, as uninterruptible native work does
        return 'late';
      }, 20),
    );
    const e = await first.then(
      () => undefined,
      (err: MediaError) => err,
    );
    expect(e?.code).toBe('transform_timeout');
    expect(e?.headers['retry-after']).toBe('1');
    expect(aborted).toBe(true);
    // The request is over but its work is not: the slot is still taken and a newcomer queues behind it.
    expect(gate.active).toBe(1);
    expect(gate.lingering).toBe(1);
    let secondRan = false;
    const second = gate.run(async () => {
      secondRan = true;
    });
    expect(gate.queued).toBe(1);
    expect(secondRan).toBe(false);
    stubborn.resolve();
    await second;
    expect(secondRan).toBe(true);
    expect(gate.lingering).toBe(0);
    expect(gate.active).toBe(0);
  });

  it('work that finishes in time frees the slot at once', async () => {
    const gate = new Gate(1, 0);
    expect(await gate.run(() => runWithDeadline(async () => 7, 10_000))).toBe(7);
    expect(gate.active).toBe(0);
  });
});

describe('PixelBudget: decodes in flight share one pixel budget', () => {
  it('admits reservations that fit, queues the rest in order, and starts them as pixels are released', async () => {
    const b = new PixelBudget(100);
    const a = await b.reserve(60);
    const order: string[] = [];
    const big = b.reserve(50).then((r) => (order.push('big'), r));
    const bigger = b.reserve(70).then((r) => (order.push('bigger'), r));
    expect(b.queued).toBe(2);
    expect(b.waits).toBe(2);
    a();
    const rBig = await big;
    expect(order).toEqual(['big']); // 70 does not fit beside 50
    rBig();
    (await bigger)();
    expect(order).toEqual(['big', 'bigger']);
    expect(b.peakRunning).toBe(1);
    expect(b.reserved).toBe(0);
  });

  it('lets a small reservation pass a waiting large one, clamps an oversized one to the whole budget', async () => {
    const b = new PixelBudget(6400);
    const held = await b.reserve(6000);
    const large = b.reserve(3000);
    const small = await b.reserve(100); // ≤ 1/64 of the budget and it fits: not stuck behind `large`
    expect(b.inFlight).toBe(2);
    small();
    held();
    (await large)();
    const huge = await b.reserve(1_000_000); // larger than the budget: runs, alone
    expect(b.reserved).toBe(6400);
    huge();
  });

  it('a waiter whose deadline passes leaves the line with the deadline error', async () => {
    const b = new PixelBudget(10);
    const held = await b.reserve(10);
    const ac = new AbortController();
    const waiting = b.reserve(5, ac.signal);
    ac.abort(new MediaError('transform_timeout', 'deadline', { 'retry-after': '1' }));
    await expect(waiting).rejects.toMatchObject({ code: 'transform_timeout', statusCode: 503 });
    expect(b.queued).toBe(0);
    held();
    expect(b.reserved).toBe(0);
  });
});

describe('per-request output budget', () => {
  const d = { width: 16384, height: 6100, frames: 1, orientation: 1 } as DetectResult;
  const limits = { ...DEFAULT_LIMITS, maxOutputPixels: 50_000_000 };

  it('counts the full canvas when no width is asked for, the resized size otherwise', () => {
    expect(outputSize(d, { format: 'webp' })).toEqual([16384, 6100]);
    expect(outputSize(d, { format: 'webp', width: 1024 })).toEqual([1024, 381]);
    expect(outputSize({ ...d, orientation: 6 }, { format: 'webp', width: 1024 })).toEqual([1024, 2750]);
    expect(outputSize(d, { format: 'webp', width: 300, height: 300, fit: 'cover' })).toEqual([300, 300]);
    expect(() => checkOutputPixels(d, { format: 'webp' }, false, limits)).toThrow(/16384×6100 = 99942400 pixels/);
    expect(() => checkOutputPixels(d, { format: 'webp', width: 4096 }, false, limits)).not.toThrow();
    const anim = { ...d, width: 1000, height: 1000, frames: 100 };
    expect(() => checkOutputPixels(anim, { format: 'webp' }, true, limits)).toThrow(/× 100 frames/);
    expect(() => checkOutputPixels(anim, { format: 'webp' }, false, limits)).not.toThrow();
  });
});
