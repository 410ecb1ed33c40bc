/**
 * The `workers` system under test of bench/sfu.ts (issue 16): an `SfuWorkerPool` of N worker processes, hosted by
 * the forked SUT child (bench/_sfu-sut.ts), which plays the voice server's signaling process: it places the channels,
 * hands out SSRCs and keys over IPC, and does no per-packet work, so only the worker processes' CPU time, read from
 * /proc/<pid>/stat by `SfuWorker.cpuSeconds()`, and their resident memory count as the server's.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SfuWorkerPool, type IoChoice, type SfuWorker, type TransportMode } from '../sfu/index.ts';

export interface WorkersSutConfig {
  workers: number;
  mode: TransportMode;
  ports: number[][];
  keys: Uint8Array[][];
  io?: IoChoice;
}

export interface WorkersSut {
  /** Per channel: the UDP port its clients send to (its worker's) and the worker it was placed on. */
  channelPorts: number[];
  channelWorkers: number[];
  ssrcs: number[][];
  rssEmptyBytes: number;
  io: string;
  /**
   * Copies each worker has forwarded (its own `resound_sfu_packets_forwarded_total`), in worker order, and the CPU
   * seconds of all workers together, each worker's read from /proc as its count arrives so the two go together.
   */
  sample(): Promise<{ forwarded: number[]; cpuSeconds: number; preemptions: number }>;
  /** Resident memory of all worker processes together (VmRSS). */
  rssBytes(): number;
  close(): Promise<void>;
}

/** A field of /proc/<pid>/status as a number (VmRSS in kB, nonvoluntary_ctxt_switches), 0 if unreadable. */
function procStatus(pid: number | undefined, field: string): number {
  if (!pid) return 0;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function forwardedTotal(w: SfuWorker): Promise<number> {
  const metrics = (await w.scrape()) as { name: string; values: { value: number }[] }[];
  const m = metrics.find((x) => x.name === 'resound_sfu_packets_forwarded_total');
  return m?.values[0]?.value ?? NaN;
}

export async function startWorkersSut(config: WorkersSutConfig): Promise<WorkersSut> {
  const logger = pino({ level: 'silent' });
  // A silence gap longer than the run, as in the in-process cells: the bench measures forwarding, not tail synthesis.
  const pool = await SfuWorkerPool.create({
    workers: config.workers,
    init: {
      bindAddress: '127.0.0.1',
      port: 0,
      publicIp: '127.0.0.1',
      silenceGapMs: 3_600_000,
      io: config.io,
      logLevel: 'warn',
    },
    publicIp: '127.0.0.1',
    logger,
    registry: new Registry(),
  });
  const members = pool.members;
  const rss = () => members.reduce((n, w) => n + procStatus(w.pid, 'VmRSS') * 1024, 0);
  const rssEmptyBytes = rss();
  // All channels exist from the start (like the other cells); the pool spreads them by its load score.
  const channels = config.ports.map((_, c) => pool.createChannel(`bench-${c}`));
  const ssrcs = config.ports.map((channel, c) =>
    channel.map((_, j) => {
      const t = channels[c].createTransport();
      t.setKey(config.mode, config.keys[c][j]);
      channels[c].addParticipant(String(1_000_000 + c * 100 + j), t);
      return t.ssrc;
    }),
  );
  // Commands carry no replies: wait for the workers' load reports to show every participant joined, so the first
  // packets are not dropped as unknown SSRCs (clients learn their addresses from their first authenticated packet).
  const total = config.ports.reduce((n, ch) => n + ch.length, 0);
  for (let i = 0; i < 50 && members.reduce((n, w) => n + w.load.participants, 0) < total; i++) await sleep(100);
  return {
    channelPorts: channels.map((ch) => ch.port),
    channelWorkers: channels.map((ch) => ch.workerId),
    ssrcs,
    rssEmptyBytes,
    io: [...new Set(members.map((w) => w.io))].join(','),
    sample: async () => {
      const each = await Promise.all(
        members.map(async (w) => ({ forwarded: await forwardedTotal(w), cpu: w.cpuSeconds() })),
      );
      return {
        forwarded: each.map((e) => e.forwarded),
        cpuSeconds: each.reduce((n, e) => n + e.cpu, 0),
        // Times the scheduler took a core from a worker that still had work: on a shared machine, the likely reason
        // one busy worker gets less done per CPU-second than two half-busy ones (cold caches after each).
        preemptions: members.reduce((n, w) => n + procStatus(w.pid, 'nonvoluntary_ctxt_switches'), 0),
      };
    },
    rssBytes: rss,
    close: () => pool.close(),
  };
}
