import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MediaError } from '../errors.ts';
import { stoppedBy } from '../limits.ts';
import type { CompositeJob, PixelJob, PixelReply, ToneMapJob } from './pixel-worker.ts';

/**
 * Per-pixel JavaScript (HDR tone mapping, APNG compositing) runs here, in worker threads, never on the proxy's main
 * thread: a 100-megapixel tone map is seconds of CPU, and on the main thread that is seconds of /healthz and every
 * other request waiting. A job that must stop (deadline, 503) has its thread terminated — JavaScript cannot be
 * interrupted any other way — and the promise settles only once the thread has exited, so whoever holds a concurrency
 * slot for it keeps holding it until the CPU is really free.
 */

/**
 * tsx compiles the worker's TypeScript in the thread too (the main thread's loader hooks do not reach workers). Its
 * API is resolved here, from this file, because an eval'd worker resolves bare names from the working directory.
 */
const TSX_API =
  typeof import.meta.resolve === 'function'
    ? import.meta.resolve('tsx/esm/api')
    : pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
const BOOT = `
import { register } from ${JSON.stringify(TSX_API)};
register();
await import(${JSON.stringify(new URL('./pixel-worker.ts', import.meta.url).href)});
`;

interface Running {
  id: number;
  resolve: (r: PixelReply) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job?: Running;
}

interface Waiting {
  start: (slot: Slot) => void;
  abandon: (e: Error) => void;
}

export class PixelWorkerPool {
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Slot>();
  private readonly waiting: Waiting[] = [];
  private live = 0;
  private busyCount = 0;
  private nextId = 1;
  private closed = false;
  /** Threads that exited or were terminated; their slots are never handed out again. */
  private readonly dead = new WeakSet<Slot>();
  /** Threads terminated because their job was stopped (deadline or abort). */
  killed = 0;

  constructor(readonly size: number) {}

  /** Threads alive now (idle + busy); a stopped job's thread is gone before its promise settles. */
  get threads(): number {
    return this.live;
  }

  get busy(): number {
    return this.busyCount;
  }

  async toneMap(job: Omit<ToneMapJob, 'kind'>, signal?: AbortSignal): Promise<Uint8Array> {
    const src = await toMovable(job.src, signal);
    return (await this.run({ kind: 'toneMap', ...job, src }, [src.buffer as ArrayBuffer], signal)).out;
  }

  async composite(job: Omit<CompositeJob, 'kind'>, signal?: AbortSignal): Promise<Uint8Array> {
    const frames = [];
    for (const f of job.frames) frames.push({ ...f, pixels: await toMovable(f.pixels, signal) });
    const transfer = frames.map((f) => f.pixels.buffer as ArrayBuffer);
    return (await this.run({ kind: 'composite', ...job, frames }, transfer, signal)).out;
  }

  private async run(job: PixelJob, transfer: ArrayBuffer[], signal?: AbortSignal): Promise<PixelReply> {
    if (this.closed) throw new MediaError('overloaded', 'the pixel workers are shut down', { 'retry-after': '1' });
    if (signal?.aborted) throw stoppedBy(signal);
    const slot = await this.take(signal);
    if (signal?.aborted) {
      this.give(slot);
      throw stoppedBy(signal);
    }
    const id = this.nextId++;
    this.busyCount++;
    const onAbort = () => void this.kill(slot, stoppedBy(signal!));
    try {
      return await new Promise<PixelReply>((resolve, reject) => {
        slot.job = { id, resolve, reject };
        signal?.addEventListener('abort', onAbort, { once: true });
        slot.worker.postMessage({ id, job }, transfer); // moved, not copied (see toMovable)
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.busyCount--;
      if (slot.job?.id === id) slot.job = undefined;
      if (!this.dead.has(slot)) this.give(slot);
    }
  }

  private take(signal?: AbortSignal): Promise<Slot> {
    const slot = this.idle.pop();
    if (slot) return Promise.resolve(slot);
    if (this.live < this.size) return Promise.resolve(this.spawn());
    return new Promise<Slot>((resolve, reject) => {
      const w: Waiting = {
        start: (s) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        abandon: reject,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(stoppedBy(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  private give(slot: Slot): void {
    if (this.closed) return void this.kill(slot, new MediaError('overloaded', 'shutting down'), false);
    const next = this.waiting.shift();
    if (next) next.start(slot);
    else {
      this.idle.push(slot);
      slot.worker.unref(); // an idle pool must not keep the process alive
    }
  }

  private spawn(): Slot {
    const worker = new Worker(BOOT, { eval: true });
    const slot: Slot = { worker };
    this.all.add(slot);
    this.live++;
    worker.on('message', (m: { id: number; reply?: PixelReply; error?: { code?: string; message: string } }) => {
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      if (m.reply) job.resolve(m.reply);
      else job.reject(asError(m.error));
    });
    worker.on('error', (err) =>
      slot.job?.reject(new MediaError('decode_failed', `pixel worker failed: ${err.message}`)),
    );
    worker.on('exit', () => {
      if (this.dead.has(slot)) return;
      this.dead.add(slot);
      this.all.delete(slot);
      this.live--;
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      slot.job?.reject(new MediaError('decode_failed', 'pixel worker exited'));
      this.refill();
    });
    return slot;
  }

  /** A waiter left without a thread (its thread was killed) gets a fresh one. */
  private refill(): void {
    if (this.closed) return;
    while (this.waiting.length && this.live < this.size) this.waiting.shift()!.start(this.spawn());
  }

  /** Terminates the thread and settles its job only after the thread has exited. */
  private async kill(slot: Slot, reason: Error, stopped = true): Promise<void> {
    if (this.dead.has(slot)) return;
    const job = slot.job;
    this.dead.add(slot);
    this.all.delete(slot);
    if (stopped) this.killed++;
    await slot.worker.terminate();
    this.live--;
    job?.reject(reason);
    this.refill();
  }

  /** Terminates every thread, busy ones included (their jobs fail with `overloaded`). */
  async close(): Promise<void> {
    this.closed = true;
    const reason = new MediaError('overloaded', 'the pixel workers are shut down', { 'retry-after': '1' });
    for (const w of this.waiting.splice(0)) w.abandon(reason);
    this.idle.length = 0;
    await Promise.all([...this.all].map((s) => this.kill(s, reason, false)));
  }
}

const SLICE_BYTES = 4 * 1024 * 1024;

/** ArrayBuffers made by toMovable: already ours to move, so they are never copied twice. */
const MOVABLE = new WeakSet<ArrayBufferLike>();

/**
 * `view` in a fresh ArrayBuffer that postMessage can move without copying. sharp's output lives in native memory that
 * cannot be moved, and letting postMessage clone 300 MB blocks the main thread for over half a second; copying here
 * in 4 MB slices, yielding between them, keeps every slice short. Callers that convert right after decoding let the
 * native buffer go at once instead of holding both until the job ends.
 */
export async function toMovable<T extends Uint8Array | Uint16Array>(view: T, signal?: AbortSignal): Promise<T> {
  if (MOVABLE.has(view.buffer)) return view;
  const buf = new ArrayBuffer(view.byteLength);
  const src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const dst = new Uint8Array(buf);
  for (let o = 0; o < src.length; o += SLICE_BYTES) {
    if (o > 0) await new Promise<void>((r) => setImmediate(r));
    if (signal?.aborted) throw stoppedBy(signal);
    dst.set(src.subarray(o, Math.min(src.length, o + SLICE_BYTES)), o);
  }
  MOVABLE.add(buf);
  return (view instanceof Uint16Array ? new Uint16Array(buf) : new Uint8Array(buf)) as T;
}

function asError(e: { code?: string; message: string } | undefined): Error {
  if (e?.code === 'corrupt_image' || e?.code === 'decode_failed') return new MediaError(e.code, e.message);
  return new MediaError('decode_failed', e?.message ?? 'pixel worker failed');
}

/** One pool per process: threads are a process resource, like the cores they run on. */
export const pixelWorkers = new PixelWorkerPool(os.availableParallelism());
