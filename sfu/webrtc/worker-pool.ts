import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { types as ms } from 'mediasoup';
import type { WebRtcEngineOptions } from './types.ts';

type Mediasoup = typeof import('mediasoup');

/** One mediasoup worker process and the WebRtcServer (one UDP port) all its browsers share. */
export interface PoolSlot {
  readonly index: number;
  readonly worker: ms.Worker;
  readonly server: ms.WebRtcServer;
  /** Routers placed on it, for least-loaded placement. */
  routers: number;
}

export interface WorkerPoolEvents {
  /** A worker died; its routers already closed (each emitted `workerclose`). The slot is being replaced. */
  workerdied: [PoolSlot, Error];
  /** A replacement worker for slot `index` is up. */
  workerrestarted: [PoolSlot];
}

/**
 * One mediasoup worker per core (mediasoup's model: a worker is single-threaded), each with its own WebRtcServer, so
 * every browser on a worker shares that worker's one port. A worker that dies is replaced in the same slot (same
 * port); whoever had routers on it hears `workerdied` and re-creates them on a live worker.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly slots: (PoolSlot | null)[] = [];
  private closed = false;

  constructor(
    private readonly mediasoup: Mediasoup,
    private readonly opts: WebRtcEngineOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.slots.push(await this.spawn(i));
  }

  get size(): number {
    return this.slots.filter((s) => s !== null).length;
  }

  /** Live slots, for tests and metrics. */
  get live(): PoolSlot[] {
    return this.slots.filter((s): s is PoolSlot => s !== null && !s.worker.closed);
  }

  /** The live worker with the fewest routers, `avoid` excluded when another is live. */
  pick(avoid?: PoolSlot): PoolSlot {
    const live = this.live;
    const candidates = live.length > 1 && avoid ? live.filter((s) => s !== avoid) : live;
    if (candidates.length === 0) throw new Error('no live mediasoup worker');
    return candidates.reduce((a, b) => (b.routers < a.routers ? b : a));
  }

  private async spawn(index: number): Promise<PoolSlot> {
    const worker = await this.mediasoup.createWorker({ logLevel: this.opts.logLevel ?? 'warn' });
    const port = this.opts.port ? this.opts.port + index : undefined;
    const listen = { ip: this.opts.listenIp, announcedAddress: this.opts.announcedAddress, port };
    const server = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ...listen }] });
    const slot: PoolSlot = { index, worker, server, routers: 0 };
    worker.on('died', (err) => this.onDied(slot, err));
    this.log.info({ worker: index, pid: worker.pid }, 'mediasoup worker up');
    return slot;
  }

  private onDied(slot: PoolSlot, err: Error): void {
    this.log.error({ worker: slot.index, pid: slot.worker.pid, err: err.message }, 'mediasoup worker died');
    this.slots[slot.index] = null;
    this.emit('workerdied', slot, err);
    if (this.closed) return;
    void this.spawn(slot.index).then(
      (fresh) => {
        if (this.closed) return fresh.worker.close();
        this.slots[slot.index] = fresh;
        this.emit('workerrestarted', fresh);
      },
      (e: Error) => this.log.error({ worker: slot.index, err: e.message }, 'mediasoup worker restart failed'),
    );
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) s?.worker.close();
    this.slots.length = 0;
  }
}
