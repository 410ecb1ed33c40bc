/**
 * The system under test for bench/sfu.ts, run in its own worker thread or child process (bench/_sfu-sut-host.ts;
 * its own event loop, so its own core): either
 * the real SFU (decrypt, route, rewrite, re-encrypt per receiver), a bare UDP relay that copies each datagram to
 * the sender's channel mates with no parsing or crypto, or a pool of SFU worker processes (bench/_sfu-workers-sut.ts;
 * then this process is their signaling parent and the samples are the workers' CPU time and memory). The main thread asks for samples of packets forwarded and
 * event-loop utilisation (busy fraction of this thread), which gives packets/s per core.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { Sfu, type IoChoice, type TransportMode, type UdpTransport } from '../sfu/index.ts';
import { startWorkersSut } from './_sfu-workers-sut.ts';

export interface SutConfig {
  kind: 'relay' | 'sfu' | 'workers';
  /** `workers` only: how many SFU worker processes. */
  workers?: number;
  mode: TransportMode;
  /** Per channel, per speaker: the UDP port the simulated client sends from and receives on. */
  ports: number[][];
  /** Per channel, per speaker: the 32-byte session key. */
  keys: Uint8Array[][];
  /** The SFU's datagram I/O path (default: SFU_IO from the environment). */
  io?: IoChoice;
}

export type SutMessage =
  | {
      type: 'ready';
      port: number;
      ssrcs: number[][];
      rssEmptyBytes: number;
      io: string;
      /** Worker pools: per channel, the port its clients send to and the worker it sits on; the worker count. */
      channelPorts?: number[];
      channelWorkers?: number[];
      processes?: number;
    }
  | {
      type: 'sample';
      forwarded: number;
      active: number;
      idle: number;
      cpuSeconds: number;
      rssBytes: number;
      /** Worker pools: copies forwarded so far by each worker; involuntary context switches of all workers. */
      perWorker?: number[];
      preemptions?: number;
    };

interface SutPort {
  postMessage(m: SutMessage): void;
  on(event: 'message', f: (m: { type: 'sample' | 'close' }) => void): void;
  close(): void;
}

/** A worker thread's parent port, or a child process's IPC channel (config in its first message). */
const inProcess = !parentPort;
const port: SutPort = parentPort ?? {
  postMessage: (m) => process.send!(m),
  on: (event, f) => process.on(event, f),
  close: () => process.disconnect(),
};
if (inProcess && !process.send) throw new Error('_sfu-sut.ts runs as a worker thread or a forked child');
const config = inProcess
  ? await new Promise<SutConfig>((resolve) => process.once('message', (m) => resolve(m as SutConfig)))
  : (workerData as SutConfig);
let rssEmptyBytes = process.memoryUsage.rss();

let forwarded: () => number;
let close: () => Promise<void>;
let cpuSeconds = threadCpuSeconds;
let rssBytes = () => process.memoryUsage.rss();
let perWorker: (() => Promise<number[]>) | null = null;
let preemptions: (() => number) | null = null;

if (config.kind === 'workers') {
  const sut = await startWorkersSut({ ...config, workers: config.workers ?? 1 });
  let last = { forwarded: [0], cpuSeconds: 0, preemptions: 0 };
  forwarded = () => last.forwarded.reduce((n, x) => n + x, 0);
  perWorker = async () => (last = await sut.sample()).forwarded;
  cpuSeconds = () => last.cpuSeconds;
  preemptions = () => last.preemptions;
  rssBytes = () => sut.rssBytes();
  close = () => sut.close();
  port.postMessage({
    type: 'ready',
    port: sut.channelPorts[0],
    ssrcs: sut.ssrcs,
    rssEmptyBytes: sut.rssEmptyBytes,
    io: sut.io,
    channelPorts: sut.channelPorts,
    channelWorkers: sut.channelWorkers,
    processes: config.workers ?? 1,
  } satisfies SutMessage);
} else if (config.kind === 'relay') {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  // Route by the sender's source port: each simulated client sends from its own socket.
  const routes = new Map<number, number[]>();
  for (const channel of config.ports) {
    for (const p of channel)
      routes.set(
        p,
        channel.filter((q) => q !== p),
      );
  }
  let count = 0;
  socket.on('message', (msg, rinfo) => {
    const dests = routes.get(rinfo.port);
    if (!dests) return;
    for (let i = 0; i < dests.length; i++) socket.send(msg, dests[i], '127.0.0.1');
    count += dests.length;
  });
  forwarded = () => count;
  close = () => new Promise<void>((resolve) => socket.close(() => resolve()));
  port.postMessage({
    type: 'ready',
    port: socket.address().port,
    ssrcs: config.ports.map((ch, c) => ch.map((_, j) => c * 100 + j + 1)),
    rssEmptyBytes,
    io: 'relay',
  } satisfies SutMessage);
} else {
  // A silence gap longer than the run: the bench measures forwarding, not tail synthesis, and keeps seq unrewritten.
  const sfu = await Sfu.create({
    bindAddress: '127.0.0.1',
    port: 0,
    publicIp: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    silenceGapMs: 3_600_000,
    io: config.io,
  });

  rssEmptyBytes = process.memoryUsage.rss();
  const transports: UdpTransport[] = [];
  const routers = config.ports.map((_, c) => sfu.createRouter(`bench-${c}`));
  const ssrcs = config.ports.map((channel, c) =>
    channel.map((p, j) => {
      const router = routers[c];
      const t = router.createTransport();
      t.setKey(config.mode, config.keys[c][j]);
      t.remote = { address: '127.0.0.1', port: p };
      router.addParticipant(String(1_000_000 + c * 100 + j), t);
      transports.push(t);
      return t.ssrc;
    }),
  );
  forwarded = () => {
    let n = 0;
    for (const t of transports) n += t.packetsSent;
    return n;
  };
  close = () => sfu.close();
  port.postMessage({ type: 'ready', port: sfu.port, ssrcs, rssEmptyBytes, io: sfu.ioPath } satisfies SutMessage);
}

/**
 * CPU seconds this thread (worker) or this whole process (child: GC and libuv threads included) has used, user +
 * system from Linux /proc, or NaN elsewhere. Unlike event-loop utilisation it does not count time the thread was
 * runnable but descheduled, so it holds on a loaded machine.
 */
function threadCpuSeconds(): number {
  try {
    const stat = readFileSync(inProcess ? '/proc/self/stat' : '/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function sample(): Promise<SutMessage> {
  const workers = perWorker ? await perWorker() : undefined;
  const elu = performance.eventLoopUtilization();
  return {
    type: 'sample',
    forwarded: forwarded(),
    active: elu.active,
    idle: elu.idle,
    cpuSeconds: cpuSeconds(),
    rssBytes: rssBytes(),
    perWorker: workers,
    preemptions: preemptions?.(),
  };
}

port.on('message', (m: { type: 'sample' | 'close' }) => {
  if (m.type === 'sample') {
    void sample().then((s) => port.postMessage(s));
  } else {
    void close().then(() => port.close());
  }
});
