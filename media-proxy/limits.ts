import { MediaError } from './errors.ts';
import type { DetectResult, Limits } from './types.ts';
import { DEFAULT_LIMITS } from './types.ts';

export function resolveLimits(partial?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/**
 * Header-time checks: everything here is known from the bytes before any decoder allocates a pixel, so a tiny file
 * that declares a huge canvas (a pixel bomb) costs microseconds, not gigabytes.
 */
export function checkInputBytes(bytes: number, limits: Limits): void {
  if (bytes > limits.maxInputBytes) {
    throw new MediaError('input_too_large', `original is ${bytes} bytes; the limit is ${limits.maxInputBytes}`);
  }
}

export function checkDetected(d: DetectResult, limits: Limits): void {
  checkInputBytes(d.bytes, limits);
  if (d.width > limits.maxDimension || d.height > limits.maxDimension) {
    throw new MediaError(
      'dimension_too_large',
      `canvas ${d.width}×${d.height} exceeds ${limits.maxDimension} px per side`,
    );
  }
  if (d.frames > limits.maxFrames) {
    throw new MediaError('too_many_frames', `animation has ${d.frames} frames; the limit is ${limits.maxFrames}`);
  }
  const pixels = d.width * d.height * d.frames;
  if (pixels > limits.maxPixels) {
    throw new MediaError('too_many_pixels', `canvas × frames is ${pixels} pixels; the limit is ${limits.maxPixels}`);
  }
}

export function checkOutputSize(width: number | undefined, height: number | undefined, limits: Limits): void {
  for (const v of [width, height]) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > limits.maxOutputDimension)) {
      throw new MediaError('bad_request', `width and height must be integers 1…${limits.maxOutputDimension}`);
    }
  }
}

/** Rejects with `transform_timeout` when `work` outlives `ms`; the work itself is also told to stop via sharp's timeout. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MediaError('transform_timeout', `transform took longer than ${ms} ms`, { 'retry-after': '1' })),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // the loser of the race must not become an unhandled rejection
  }
}

/**
 * A counting semaphore with a bounded waiting line: `concurrency` transforms run, `queueSize` wait, and the next one is
 * refused at once with `overloaded` (503 + Retry-After) so a burst sheds load instead of growing memory.
 */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    readonly concurrency: number,
    readonly queueSize: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async acquire(): Promise<() => void> {
    if (this.running < this.concurrency) {
      this.running++;
      return this.releaser();
    }
    if (this.waiting.length >= this.queueSize) {
      throw new MediaError('overloaded', 'the media proxy is at capacity; retry shortly', { 'retry-after': '1' });
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.releaser();
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next)
        next(); // hand the slot over without decrementing, so no newcomer can jump the line
      else this.running--;
    };
  }
}
