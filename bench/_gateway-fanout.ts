/**
 * Fan-out measurement shared by the servers under test: a child load generator (bench/_gateway-clients.ts, spawned
 * through bash to raise its open-files limit) holds N sockets; the server publishes bursts of dispatches; we count
 * deliveries across all sockets, take delivery lag (receive time − publish time, one clock: same machine) from the
 * sampled sockets, and read this process's CPU time from /proc/self/stat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { percentile, round, sortedCopy } from './_harness.ts';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export function cpuSeconds(): number {
  const f = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

export const now = () => performance.timeOrigin + performance.now();

type ChildMsg =
  | { ev: 'up' }
  | { ev: 'connected'; n: number; ms: number }
  | { ev: 'reset' }
  | { ev: 'reached'; delivered: number; lags: number[] }
  | { ev: 'error'; message: string };

export class LoadGenerator {
  private readonly child: ChildProcess;
  private waiters: ((m: ChildMsg) => void)[] = [];

  constructor() {
    const script = path.join(import.meta.dirname, '_gateway-clients.ts');
    // 10 k client sockets need more than the usual 1024 open files: raise the soft limit to the hard one first.
    this.child = spawn(
      'bash',
      ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath, '--import', 'tsx', script],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.child.on('message', (m: ChildMsg) => {
      if (m.ev === 'error') throw new Error(`load generator: ${m.message}`);
      this.waiters.shift()?.(m);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private next<E extends ChildMsg['ev']>(ev: E): Promise<Extract<ChildMsg, { ev: E }>> {
    return new Promise((resolve, reject) =>
      this.waiters.push((m) =>
        m.ev === ev ? resolve(m as Extract<ChildMsg, { ev: E }>) : reject(new Error(`expected ${ev}, got ${m.ev}`)),
      ),
    );
  }

  async up(): Promise<void> {
    await this.next('up');
  }

  async connect(
    url: string,
    n: number,
    sample: number,
    identify?: { tokens: string[]; intents: number },
  ): Promise<{ n: number; ms: number }> {
    const p = this.next('connected');
    this.child.send({ cmd: 'connect', url, n, sample, identify });
    return p;
  }

  async reset(): Promise<void> {
    const p = this.next('reset');
    this.child.send({ cmd: 'reset' });
    await p;
  }

  expect(total: number): Promise<{ delivered: number; lags: number[] }> {
    const p = this.next('reached');
    this.child.send({ cmd: 'expect', total });
    return p;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'close' });
    await exited;
  }
}

export interface FanoutServer {
  /** ws:// URL clients connect to (with its query). */
  url: string;
  /** Clients identify with these tokens in turn (none: a bare WebSocket server). */
  identify?: { tokens: string[]; intents: number };
  /** Resolves when the server holds `n` ready sessions/sockets with nothing left to flush. */
  ready(n: number): Promise<void>;
  /** Sends one dispatch (`d` already carries bench_ts) to every socket. */
  publish(t: string, d: Record<string, unknown>): void | Promise<void>;
  close(): Promise<void>;
}

export interface FanoutResult {
  sessions: number;
  events: number;
  deliveries: number;
  events_per_s: number;
  deliveries_per_s: number;
  p50_lag_ms: number;
  p99_lag_ms: number;
  server_cpu_pct: number;
  /** Server CPU per 1000 deliveries: the efficiency figure that holds even when the clients set the pace. */
  server_cpu_ms_per_1k_deliveries: number;
  connect_ms: number;
}

/** Connects `n` clients to `server`, then ROUNDS bursts of BURST dispatches from `payloads`, one burst at a time. */
export async function measureFanout(
  server: FanoutServer,
  payloads: { t: string; d: Record<string, unknown> }[],
  opts: { n: number; rounds: number; burst: number; sample: number },
): Promise<FanoutResult> {
  const gen = new LoadGenerator();
  try {
    await gen.up();
    const c = await gen.connect(server.url, opts.n, opts.sample, server.identify);
    if (c.n !== opts.n) throw new Error(`only ${c.n} of ${opts.n} clients connected`);
    await server.ready(opts.n);
    await new Promise((r) => setTimeout(r, 500));
    await gen.reset();
    const lags: number[] = [];
    let expected = 0;
    let k = 0;
    const cpu0 = cpuSeconds();
    const t0 = now();
    for (let r = 0; r < opts.rounds; r++) {
      for (let b = 0; b < opts.burst; b++) {
        const p = payloads[k++ % payloads.length];
        await server.publish(p.t, { ...p.d, bench_ts: now() });
      }
      expected += opts.n * opts.burst;
      const got = await gen.expect(expected);
      for (const l of got.lags) lags.push(l);
    }
    const wall = (now() - t0) / 1000;
    const cpu = cpuSeconds() - cpu0;
    const events = opts.rounds * opts.burst;
    const s = sortedCopy(lags);
    return {
      sessions: opts.n,
      events,
      deliveries: expected,
      events_per_s: round(events / wall, 1),
      deliveries_per_s: round(expected / wall, 0),
      p50_lag_ms: round(percentile(s, 50), 2),
      p99_lag_ms: round(percentile(s, 99), 2),
      server_cpu_pct: round((cpu / wall) * 100, 1),
      server_cpu_ms_per_1k_deliveries: round((cpu * 1000 * 1000) / expected, 3),
      connect_ms: c.ms,
    };
  } finally {
    await gen.close();
    await server.close();
  }
}
