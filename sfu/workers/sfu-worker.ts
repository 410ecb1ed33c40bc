import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { childExecArgv } from '../../common/child-process.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit, WorkerLoad } from './protocol.ts';

const WORKER_MAIN = new URL('./worker-main.ts', import.meta.url);
/** Clock ticks per second for /proc/<pid>/stat's utime and stime (USER_HZ, 100 on every Linux Node runs on). */
const USER_HZ = 100;

export interface SfuWorkerEvents {
  /** The process is up and its socket bound (first start and every restart). */
  ready: [];
  /** The process died without being asked to (crash, kill): everything it hosted is gone. */
  died: [code: number | null, signal: NodeJS.Signals | null];
  'e2ee-frame': [router: string, userId: string];
}

/**
 * The signaling process's handle on one SFU worker process (mediasoup's Worker, as a Node child): spawns it, queues
 * commands until it is ready, reads its load reports and its CPU time from /proc, and notices when it dies. The
 * pool decides what a death means; the handle just starts a fresh process on `restart()`, on the same port.
 */
export class SfuWorker extends EventEmitter<SfuWorkerEvents> {
  private child: ChildProcess | null = null;
  private queue: WorkerCommand[] = [];
  private isReady = false;
  private closing = false;
  /** Requests awaiting their reply event, by id (null: the process went away first). */
  private pending = new Map<number, (e: WorkerEvent | null) => void>();
  private nextRequest = 1;
  /** The port every incarnation binds: the first one's, so clients placed here keep a valid address. */
  port = 0;
  io = 'unknown';
  load: WorkerLoad = { routers: 0, participants: 0, rtpIn: 0, forwarded: 0 };
  /** Channels and participants placed here by the signaling process (current before the next load report). */
  channels = 0;
  participants = 0;
  restarts = 0;
  private cpuBase = 0;
  private cpuAtLoad = { ticks: 0, at: 0 };
  /** CPU cores this worker used over the last load interval (0–1 for a single-threaded worker). */
  cpuShare = 0;

  constructor(
    readonly id: number,
    private readonly init: WorkerInit,
    private readonly log: Logger,
  ) {
    super();
    this.port = init.port;
  }

  get ready(): boolean {
    return this.isReady;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once its socket is bound (rejects when it cannot start). */
  start(): Promise<void> {
    this.isReady = false;
    const child = fork(WORKER_MAIN, [], {
      execArgv: childExecArgv(),
      // Typed arrays (session keys) cross the channel as they are.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    child.send({ t: 'init', init: { ...this.init, port: this.port } } satisfies WorkerCommand);
    return new Promise((resolve, reject) => {
      let settled = false;
      child.on('message', (e: WorkerEvent) => {
        if (e.t === 'ready') {
          this.port = e.port;
          this.io = e.io;
          this.isReady = true;
          this.cpuBase = this.cpuTicks();
          this.cpuAtLoad = { ticks: 0, at: Date.now() };
          const queued = this.queue;
          this.queue = [];
          for (const c of queued) child.send(c);
          settled = true;
          resolve();
          this.emit('ready');
        } else if (e.t === 'failed' && !settled) {
          settled = true;
          // The code (EADDRINUSE) lets the caller turn a taken port into its configuration error.
          reject(Object.assign(new Error(`sfu worker ${this.id}: ${e.error}`), { code: e.code }));
        } else this.onEvent(e);
      });
      child.once('exit', (code, signal) => {
        if (this.child !== child) return;
        this.child = null;
        this.isReady = false;
        for (const done of this.pending.values()) done(null);
        this.pending.clear();
        if (!settled) {
          settled = true;
          reject(new Error(`sfu worker ${this.id} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.closing) return;
        this.log.error({ worker: this.id, code, signal, pid: child.pid }, 'sfu worker died');
        this.emit('died', code, signal);
      });
    });
  }

  /** A fresh process for a dead one, on the same port; commands sent meanwhile wait for it. */
  async restart(): Promise<void> {
    this.restarts++;
    this.queue = [];
    this.load = { routers: 0, participants: 0, rtpIn: 0, forwarded: 0 };
    await this.start();
    this.log.info({ worker: this.id, port: this.port, pid: this.pid }, 'sfu worker restarted');
  }

  send(c: WorkerCommand): void {
    if (this.isReady && this.child?.connected) this.child.send(c);
    else this.queue.push(c);
  }

  /** The worker's own Prometheus series, as JSON for the aggregator (empty if it does not answer). */
  async scrape(): Promise<unknown[]> {
    const e = await this.request((id) => ({ t: 'scrape', id }));
    return e?.t === 'scraped' ? e.metrics : [];
  }

  /** Opens the worker's end of a router pipe for `router`; resolves with its loopback port. */
  async openPipe(router: string, ssrc: number): Promise<number> {
    const e = await this.request((id) => ({ t: 'pipe-open', id, router, ssrc }));
    const port = e?.t === 'pipe-opened' ? e.port : 0;
    if (port === 0) throw new Error(`sfu worker ${this.id} could not open a pipe for ${router}`);
    return port;
  }

  /** One command whose reply event carries the same id; null when the worker dies or stays silent. */
  private request(make: (id: number) => WorkerCommand, timeoutMs = 5000): Promise<WorkerEvent | null> {
    if (!this.isReady) return Promise.resolve(null);
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, (e) => {
        clearTimeout(timer);
        resolve(e);
      });
      this.send(make(id));
    });
  }

  /** Total CPU seconds of this incarnation (utime + stime of the process, all threads). */
  cpuSeconds(): number {
    return Math.max(0, this.cpuTicks() - this.cpuBase) / USER_HZ;
  }

  private cpuTicks(): number {
    const pid = this.child?.pid;
    if (!pid) return 0;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  }

  private onEvent(e: WorkerEvent): void {
    switch (e.t) {
      case 'load': {
        this.load = e.load;
        const ticks = this.cpuTicks() - this.cpuBase;
        const now = Date.now();
        const dt = (now - this.cpuAtLoad.at) / 1000;
        if (dt > 0) this.cpuShare = (ticks - this.cpuAtLoad.ticks) / USER_HZ / dt;
        this.cpuAtLoad = { ticks, at: now };
        return;
      }
      case 'e2ee-frame':
        this.emit('e2ee-frame', e.router, e.userId);
        return;
      case 'scraped':
      case 'pipe-opened':
        this.pending.get(e.id)?.(e);
        this.pending.delete(e.id);
        return;
      default:
        return;
    }
  }

  /** Test and operator hook: kills the process as a crash would (the pool restarts it). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  async close(): Promise<void> {
    this.closing = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ t: 'close' } satisfies WorkerCommand);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
