import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Router } from '../router.ts';
import { WebRtcChannel } from './channel.ts';
import { WebRtcMetrics } from './metrics.ts';
import type { EngineStatus, WebRtcEngineOptions } from './types.ts';
import { resolveWorkerBin } from './worker-bin.ts';
import { WorkerPool, type PoolSlot } from './worker-pool.ts';

export interface WebRtcEngineEvents {
  /** A mediasoup worker died (its channels are moving to live workers). */
  workerdied: [slot: number];
}

/**
 * Browser voice's media engine: a pool of mediasoup workers and, per voice channel, a WebRtcChannel bridged to that
 * channel's native router. `start()` never throws for a missing worker binary: it answers unavailable with the reason
 * (typically "run `npm run setup:webrtc`"), and the rest of the voice server runs as before.
 */
export class WebRtcEngine extends EventEmitter<WebRtcEngineEvents> {
  private pool: WorkerPool | null = null;
  private state: EngineStatus = { available: false, reason: 'not started' };
  private readonly channels = new Map<string, Promise<WebRtcChannel>>();
  private starting: Promise<EngineStatus> | null = null;
  private readonly live = new Set<WebRtcChannel>();
  readonly metrics: WebRtcMetrics | null;

  constructor(
    private readonly opts: WebRtcEngineOptions,
    private readonly log: Logger,
  ) {
    super();
    this.metrics = opts.registry
      ? new WebRtcMetrics(opts.registry, () => {
          const sum = { toMediasoup: 0, toNative: 0 };
          for (const c of this.live) {
            sum.toMediasoup += c.bridge.counts.toMediasoup;
            sum.toNative += c.bridge.counts.toNative;
          }
          return sum;
        })
      : null;
  }

  get status(): EngineStatus {
    return this.state;
  }

  get available(): boolean {
    return this.state.available;
  }

  /** Finds and verifies the worker binary, then starts the pool. Idempotent. */
  start(): Promise<EngineStatus> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<EngineStatus> {
    const bin = await resolveWorkerBin();
    if (!bin.ok) {
      this.state = { available: false, reason: bin.reason };
      this.log.warn({ reason: bin.reason }, 'browser voice (WebRTC) unavailable');
      return this.state;
    }
    try {
      // Loaded only now: mediasoup reads MEDIASOUP_WORKER_BIN (set by resolveWorkerBin) when its module loads.
      const mediasoup = await import('mediasoup');
      const pool = new WorkerPool(mediasoup, this.opts, this.log);
      pool.on('workerdied', (slot: PoolSlot) => {
        this.metrics?.workerDeaths.inc();
        this.emit('workerdied', slot.index);
      });
      const count = this.opts.workers ?? availableParallelism();
      await pool.start(count);
      this.pool = pool;
      this.state = { available: true, workers: count };
      this.log.info({ workers: count, bin: bin.path, mediasoup: bin.version }, 'browser voice (WebRTC) ready');
    } catch (err) {
      this.state = { available: false, reason: `mediasoup workers failed to start: ${(err as Error).message}` };
      this.log.error({ reason: this.state.reason }, 'browser voice (WebRTC) unavailable');
    }
    return this.state;
  }

  /** The worker pool (tests kill workers through it). */
  get workers(): WorkerPool | null {
    return this.pool;
  }

  /**
   * The WebRTC half of voice channel `key`, bridged to its native router; created on first use and closed with the
   * native router. Throws when the engine is unavailable (check `status` first and tell the client why).
   */
  channel(key: string, native: Router): Promise<WebRtcChannel> {
    const pool = this.pool;
    if (!pool) {
      const why = this.state.available ? 'closed' : this.state.reason;
      return Promise.reject(new Error(`browser voice unavailable: ${why}`));
    }
    let ch = this.channels.get(key);
    if (!ch) {
      ch = WebRtcChannel.create(key, native, pool, this.log.child({ channel: key }), this.metrics);
      this.channels.set(key, ch);
      ch.then(
        (c) => {
          this.live.add(c);
          c.once('close', () => {
            this.channels.delete(key);
            this.live.delete(c);
          });
        },
        () => this.channels.delete(key),
      );
    }
    return ch;
  }

  /** An existing channel, without creating one. */
  async existing(key: string): Promise<WebRtcChannel | undefined> {
    return this.channels.get(key);
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.channels.values());
    for (const r of all) if (r.status === 'fulfilled') r.value.close('engine_closed');
    this.channels.clear();
    this.pool?.close();
    this.pool = null;
    if (this.state.available) this.state = { available: false, reason: 'engine closed' };
  }
}
