import { MediaError } from './errors.ts';
import type { DetectResult, Limits, TransformRequest } from './types.ts';
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

/**
 * The per-request pixel budget: what this request would produce, from the header and the requested geometry, before
 * anything is decoded. Without `width`/`height` that is the whole canvas — a tiny file declaring 16384×6100 asks for
 * 100 megapixels of tone mapping and encoding, which `maxPixels` alone (an input check) lets through.
 */
export function checkOutputPixels(d: DetectResult, req: TransformRequest, animate: boolean, limits: Limits): number {
  const [w, h] = outputSize(d, req);
  const frames = animate ? d.frames : 1;
  const pixels = w * h * frames;
  if (pixels > limits.maxOutputPixels) {
    throw new MediaError(
      'too_many_pixels',
      `the output would be ${w}×${h}${frames > 1 ? ` × ${frames} frames` : ''} = ${pixels} pixels; the limit is ` +
        `${limits.maxOutputPixels} (ask for a smaller width/height)`,
    );
  }
  return pixels;
}

/** Output geometry as sharp's resize will produce it (never enlarged; EXIF orientations 5–8 swap the sides). */
export function outputSize(d: DetectResult, req: TransformRequest): [number, number] {
  const swap = (d.orientation ?? 1) >= 5;
  const sw = swap ? d.height : d.width;
  const sh = swap ? d.width : d.height;
  if (!req.width && !req.height) return [sw, sh];
  const fit = req.fit ?? 'inside';
  if (req.width && req.height && fit !== 'inside') return [Math.min(req.width, sw), Math.min(req.height, sh)];
  const scale = Math.min(1, req.width ? req.width / sw : Infinity, req.height ? req.height / sh : Infinity);
  return [Math.max(1, Math.round(sw * scale)), Math.max(1, Math.round(sh * scale))];
}

export function checkOutputSize(width: number | undefined, height: number | undefined, limits: Limits): void {
  for (const v of [width, height]) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > limits.maxOutputDimension)) {
      throw new MediaError('bad_request', `width and height must be integers 1…${limits.maxOutputDimension}`);
    }
  }
}

/**
 * Runs `fn` with a deadline. Past it, `fn`'s signal aborts (worker threads are terminated, decoder processes killed)
 * and the caller gets `transform_timeout` at once, but the Gate slot it runs in stays taken until `fn` has really
 * finished (the rejection carries the work, see Gate.run): an abandoned promise whose work is still burning CPU must
 * not let another transform start beside it.
 */
export async function runWithDeadline<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const ac = new AbortController();
  const work = fn(ac.signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new MediaError('transform_timeout', `transform took longer than ${ms} ms`, { 'retry-after': '1' });
      ac.abort(err);
      abandoned.set(err, work);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // the loser of the race must not become an unhandled rejection
  }
}

/** The error a stopped stage rejects with: the deadline's own `transform_timeout` when that is what stopped it. */
export function stoppedBy(signal: AbortSignal): MediaError {
  const reason: unknown = signal.reason;
  return reason instanceof MediaError
    ? reason
    : new MediaError('transform_timeout', 'the transform was stopped', { 'retry-after': '1' });
}

/**
 * Work that outlived its caller, keyed by the deadline error the caller was given (see runWithDeadline): a Gate slot
 * whose work ends in that error stays taken until the work settles. Carried by the error rather than by an
 * AsyncLocalStorage, which on Node 20 would install promise hooks that every promise in the process pays for.
 */
const abandoned = new WeakMap<object, Promise<unknown>>();

function outlivingWork(err: unknown): Promise<unknown> | undefined {
  return typeof err === 'object' && err !== null ? abandoned.get(err) : undefined;
}

/**
 * A counting semaphore with a bounded waiting line: `concurrency` transforms run, `queueSize` wait, and the next one is
 * refused at once with `overloaded` (503 + Retry-After) so a burst sheds load instead of growing memory.
 */
export class Gate {
  private running = 0;
  private outliving = 0;
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

  /** Slots still held by work whose request already ended (timed out): CPU that is busy but answers nobody. */
  get lingering(): number {
    return this.outliving;
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

  /** Runs `fn` in a slot; when `fn` gave up on work at a deadline (runWithDeadline), the slot waits for that work. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    let leftover: Promise<unknown> | undefined;
    try {
      return await fn();
    } catch (err) {
      leftover = outlivingWork(err);
      throw err;
    } finally {
      if (!leftover) release();
      else {
        this.outliving++;
        const settled = () => {
          this.outliving--;
          release();
        };
        leftover.then(settled, settled);
      }
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
