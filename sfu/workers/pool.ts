import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { SfuMetrics } from '../stats.ts';
import type { MediaPlane } from '../media-plane.ts';
import type { WorkerInit } from './protocol.ts';
import { RemoteChannel } from './remote-channel.ts';
import { SfuWorker } from './sfu-worker.ts';

export interface SfuWorkerPoolOptions {
  /** How many worker processes (≥ 1). */
  workers: number;
  /** Everything but the worker id; `port` is the first worker's, the next ones take the ports after it (0: any). */
  init: Omit<WorkerInit, 'workerId'>;
  publicIp: string;
  logger: Logger;
  registry: Registry;
}

/** Opus is 50 packets/s per speaker: inbound packets/s over 50 counts as that many talking participants. */
const PPS_PER_SPEAKER = 50;
/** A fully busy core weighs as much as this many participants, so a worker hot for other reasons gets fewer. */
const CPU_WEIGHT = 50;
const RESTART_BACKOFF_MS = [100, 500, 2000, 5000];

/**
 * The media plane as worker processes, mediasoup's model: each worker owns its UDP socket and port and the routers of
 * the channels placed on it; a channel lives on exactly one worker. A new channel goes to the worker with the lowest
 * load score (channels + participants + inbound packets/s ÷ 50 + 50 × cores of CPU it used in the last second). A
 * worker that dies is restarted on its port; its channels' clients are told to join again, and no other worker notices.
 */
export class SfuWorkerPool implements MediaPlane {
  readonly publicIp: string;
  private readonly workers: SfuWorker[] = [];
  private readonly channels = new Map<string, RemoteChannel>();
  /** Per worker: the SSRCs in use there (each worker's table is its own, like an in-process Sfu's). */
  private readonly ssrcs = new Map<number, Set<number>>();
  private closed = false;
  /** Metrics of the in-process ends of browser pipes: bookkeeping only, never scraped (the workers count media). */
  private readonly pipeMetrics = new SfuMetrics(new Registry());

  private constructor(private readonly opts: SfuWorkerPoolOptions) {
    this.publicIp = opts.publicIp;
  }

  static async create(opts: SfuWorkerPoolOptions): Promise<SfuWorkerPool> {
    const pool = new SfuWorkerPool(opts);
    try {
      await pool.startAll();
    } catch (err) {
      await pool.close();
      throw err;
    }
    pool.registerMetrics(opts.registry);
    return pool;
  }

  private async startAll(): Promise<void> {
    const { init, workers, logger } = this.opts;
    for (let i = 0; i < workers; i++) {
      // Fixed ports are consecutive from SFU_UDP_PORT; with 0 each worker takes any free port once and keeps it.
      const port = init.port === 0 ? 0 : init.port + i;
      const w = new SfuWorker(i + 1, { ...init, port, workerId: i + 1 }, logger);
      this.workers.push(w);
      this.ssrcs.set(w.id, new Set());
      w.on('died', () => this.onDied(w));
      w.on('e2ee-frame', (router, userId) => this.channels.get(router)?.e2eeFrame(userId));
    }
    await Promise.all(this.workers.map((w) => w.start()));
    logger.info(
      { workers: this.workers.map((w) => ({ worker: w.id, port: w.port, pid: w.pid, io: w.io })) },
      `sfu: ${workers} worker process(es)`,
    );
  }

  get size(): number {
    return this.workers.length;
  }

  /** The workers, for /healthz, tests and benchmarks. */
  get members(): readonly SfuWorker[] {
    return this.workers;
  }

  /** UDP ports of all workers, in worker order. */
  get ports(): number[] {
    return this.workers.map((w) => w.port);
  }

  /** The UDP port of the first worker (what a single-port client default shows). */
  get port(): number {
    return this.workers[0]?.port ?? 0;
  }

  score(w: SfuWorker): number {
    return w.channels + w.participants + w.load.rtpIn / PPS_PER_SPEAKER + CPU_WEIGHT * w.cpuShare;
  }

  /** The worker a new channel goes to: lowest score, live ones first (a restarting one queues until it is up). */
  private pick(): SfuWorker {
    let best: SfuWorker | null = null;
    for (const w of this.workers) {
      if (!best || (w.ready && !best.ready) || (w.ready === best.ready && this.score(w) < this.score(best))) best = w;
    }
    if (!best) throw new Error('sfu worker pool is empty');
    return best;
  }

  createChannel(id: string): RemoteChannel {
    if (this.closed) throw new Error('sfu worker pool is closed');
    if (this.channels.has(id)) throw new Error(`channel ${id} exists`);
    const w = this.pick();
    const used = this.ssrcs.get(w.id)!;
    const ch = new RemoteChannel(id, w, {
      allocateSsrc: () => {
        let ssrc: number;
        do ssrc = randomInt(1, 0xffffffff);
        while (used.has(ssrc));
        used.add(ssrc);
        return ssrc;
      },
      releaseSsrc: (ssrc) => used.delete(ssrc),
      closed: (c) => {
        if (this.channels.get(c.id) === c) this.channels.delete(c.id);
        w.channels--;
      },
      pipeMetrics: this.pipeMetrics,
      logger: this.opts.logger,
    });
    w.channels++;
    this.channels.set(id, ch);
    return ch;
  }

  private onDied(w: SfuWorker): void {
    if (this.closed) return;
    this.deaths.inc({ worker: String(w.id) });
    for (const ch of [...this.channels.values()]) if (ch.workerId === w.id) ch.workerDied();
    this.ssrcs.get(w.id)?.clear();
    void this.restart(w, 0);
  }

  private async restart(w: SfuWorker, attempt: number): Promise<void> {
    try {
      await w.restart();
    } catch (err) {
      const delay = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)];
      this.opts.logger.error(
        { worker: w.id, err: (err as Error).message, retryInMs: delay },
        'sfu worker restart failed',
      );
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, delay).unref());
      if (!this.closed) await this.restart(w, attempt + 1);
    }
  }

  private deaths!: Counter<'worker'>;

  private registerMetrics(registry: Registry): void {
    const workers = this.workers;
    const perWorker = (name: string, help: string, read: (w: SfuWorker) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers: [registry],
        collect() {
          for (const w of workers) this.set({ worker: String(w.id) }, read(w));
        },
      });
    perWorker('resound_sfu_worker_up', 'Whether the SFU worker process is running and ready', (w) => (w.ready ? 1 : 0));
    perWorker('resound_sfu_worker_channels', 'Voice channels placed on the worker', (w) => w.channels);
    perWorker('resound_sfu_worker_participants', 'Participants on the worker', (w) => w.participants);
    perWorker(
      'resound_sfu_worker_packets_in_per_second',
      'RTP packets/s the worker received (last second)',
      (w) => w.load.rtpIn,
    );
    perWorker(
      'resound_sfu_worker_forwarded_per_second',
      'Copies/s the worker sent (last second)',
      (w) => w.load.forwarded,
    );
    perWorker('resound_sfu_worker_cpu_cores', 'CPU cores the worker used over the last second', (w) => w.cpuShare);
    perWorker('resound_sfu_worker_cpu_seconds', 'CPU seconds of the worker process since it started', (w) =>
      w.cpuSeconds(),
    );
    perWorker('resound_sfu_worker_load_score', 'Placement score: new channels go to the lowest', (w) => this.score(w));
    perWorker('resound_sfu_worker_restarts', 'Times the worker was restarted after dying', (w) => w.restarts);
    this.deaths = new Counter({
      name: 'resound_sfu_worker_deaths_total',
      help: 'SFU worker processes that died unasked (their channels were told to join again)',
      labelNames: ['worker'],
      registers: [registry],
    });
  }

  /** The workers' own SFU series (drops, datagrams, streams), summed over workers, as Prometheus text. */
  async workerMetrics(): Promise<string> {
    const all = await Promise.all(this.workers.map((w) => w.scrape()));
    const nonEmpty = all.filter((m) => m.length > 0) as Parameters<typeof AggregatorRegistry.aggregate>[0];
    if (nonEmpty.length === 0) return '';
    return AggregatorRegistry.aggregate(nonEmpty).metrics();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ch of [...this.channels.values()]) ch.close();
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
