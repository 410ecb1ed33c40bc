import type { PushMetrics } from './metrics.ts';
import type { PushNotification } from './types.ts';

/**
 * The per-node push collector: a bounded FIFO of notifications that pushers pull from in batches (demand-driven,
 * GenStage style: a pusher asks for up to N when it is free, so a slow sink slows pulling, not the gateway). When the
 * buffer is full a new notification is shed at once — the gateway never waits on push.
 */
export class PushCollector {
  private readonly ring: (PushNotification | undefined)[];
  private head = 0;
  private size = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly capacity: number,
    private readonly metrics: PushMetrics,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('push buffer capacity must be ≥ 1');
    this.ring = new Array<PushNotification | undefined>(capacity);
  }

  get depth(): number {
    return this.size;
  }

  /** Buffers one notification; false (and counted as shed) when the buffer is full or closed. */
  offer(n: PushNotification): boolean {
    if (this.closed || this.size === this.capacity) {
      this.metrics.shed.inc();
      return false;
    }
    this.ring[(this.head + this.size) % this.capacity] = n;
    this.size++;
    this.metrics.buffered.inc();
    this.metrics.depth.set(this.size);
    this.waiting.shift()?.();
    return true;
  }

  /** Up to `max` notifications, oldest first; waits while the buffer is empty. Empty array = closed. */
  async pull(max: number): Promise<PushNotification[]> {
    while (this.size === 0) {
      if (this.closed) return [];
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const n = Math.min(max, this.size);
    const out: PushNotification[] = new Array<PushNotification>(n);
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) % this.capacity;
      out[i] = this.ring[at]!;
      this.ring[at] = undefined;
    }
    this.head = (this.head + n) % this.capacity;
    this.size -= n;
    this.metrics.depth.set(this.size);
    // More left: let the next idle pusher take it.
    if (this.size > 0) this.waiting.shift()?.();
    return out;
  }

  /** Wakes idle pullers; those still holding notifications keep delivering what they took. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
  }
}
