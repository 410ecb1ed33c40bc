import { stoppedBy } from '../limits.ts';

/**
 * The memory bound across requests. The Gate bounds how many transforms run, but not how big they are: on a 64-core
 * host 64 accepted 100-megapixel decodes would need ~20 GB. Every transform reserves the canvas pixels it may decode
 * (width × height × decoded frames) before its first decoder allocates; a reservation that does not fit waits (FIFO)
 * until others release theirs, or until its deadline aborts it (503 + Retry-After). One request larger than the whole
 * budget is clamped to it, so it runs — alone.
 */

interface Waiter {
  need: number;
  grant: () => void;
}

export class PixelBudget {
  private used = 0;
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** High-water mark of concurrent reservations, for metrics and tests. */
  peakRunning = 0;
  peakUsed = 0;
  /** Reservations that had to wait. */
  waits = 0;

  constructor(private limit: number) {}

  get total(): number {
    return this.limit;
  }

  /** Pixels reserved now. */
  get reserved(): number {
    return this.used;
  }

  /** Transforms holding a reservation now. */
  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Adopts a new total (a proxy's configuration); waiters that now fit start. */
  resize(total: number): void {
    if (total === this.limit) return;
    this.limit = total;
    this.pump();
  }

  /**
   * Reserves `pixels`; resolves with the release function. Small reservations (≤ 1/64 of the budget) may pass larger
   * waiters when they fit, so thumbnails keep flowing while a few huge decodes queue.
   */
  reserve(pixels: number, signal?: AbortSignal): Promise<() => void> {
    const need = Math.max(1, Math.min(pixels, this.limit));
    if (signal?.aborted) return Promise.reject(stoppedBy(signal));
    const mayPass = this.waiting.length === 0 || need <= this.limit / 64;
    if (mayPass && this.used + need <= this.limit) return Promise.resolve(this.take(need));
    this.waits++;
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        need,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(need));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(stoppedBy(signal!));
        this.pump(); // the head may have been the one blocking smaller waiters behind it
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  private take(need: number): () => void {
    this.used += need;
    this.running++;
    if (this.running > this.peakRunning) this.peakRunning = this.running;
    if (this.used > this.peakUsed) this.peakUsed = this.used;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= need;
      this.running--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length && this.used + this.waiting[0].need <= this.limit) this.waiting.shift()!.grant();
  }

  /** Forgets the high-water marks (tests measure one scenario at a time). */
  resetPeaks(): void {
    this.peakRunning = this.running;
    this.peakUsed = this.used;
    this.waits = 0;
  }
}

/** One budget per process: memory is a process resource; the latest configuration's total applies. */
export const pixelBudget = new PixelBudget(200_000_000);
