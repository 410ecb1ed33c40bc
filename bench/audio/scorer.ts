import { Worker } from 'node:worker_threads';
import type { PlayoutResult } from './jitter-buffer.ts';
import { playOut, type ReceivedStream } from './receiver.ts';
import { score, type Scores } from './score.ts';
import { readWav } from '../../testkit/index.ts';

/**
 * Decoding and scoring are the CPU-heavy half of a cell (the network half mostly waits on sockets), so they can run
 * on worker threads while the main thread keeps packets moving.
 */
export interface ScoreJob {
  fixtureFile: string;
  rx: ReceivedStream;
  fec: boolean;
}

export interface ScoreOutcome {
  scores: Scores;
  playout: Omit<PlayoutResult, 'actions'>;
}

export interface Scorer {
  run(job: ScoreJob): Promise<ScoreOutcome>;
  close(): Promise<void>;
}

const refs = new Map<string, Float32Array>();

export function loadFixture(file: string): Float32Array {
  let ref = refs.get(file);
  if (!ref) {
    const wav = readWav(file);
    if (wav.sampleRate !== 48000) throw new Error(`${file}: fixtures must be 48 kHz, got ${wav.sampleRate}`);
    ref = wav.samples;
    refs.set(file, ref);
  }
  return ref;
}

export async function scoreJob(job: ScoreJob): Promise<ScoreOutcome> {
  const { pcm, playout } = await playOut(job.rx, job.fec);
  const { actions: _actions, ...stats } = playout;
  return { scores: score(loadFixture(job.fixtureFile), pcm), playout: stats };
}

/** Scores on the calling thread (tests, and runs under a loader that workers would not inherit). */
export class InlineScorer implements Scorer {
  run(job: ScoreJob): Promise<ScoreOutcome> {
    return scoreJob(job);
  }
  async close(): Promise<void> {}
}

interface Pending {
  job: ScoreJob;
  resolve: (o: ScoreOutcome) => void;
  reject: (e: Error) => void;
}

// Node 20 workers do not inherit the TypeScript loader the main thread runs under; register tsx, then load the entry.
const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((api) => { api.register(); return import(workerData.entry); });
`;

/** A fixed pool of worker threads, one job each at a time. */
export class WorkerScorer implements Scorer {
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Pending>();

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_BOOT, {
        eval: true,
        workerData: { entry: new URL('./score-worker.ts', import.meta.url).href },
      });
      w.on('message', (o: ScoreOutcome) => this.settle(w, (p) => p.resolve(o)));
      w.on('error', (e: Error) => this.settle(w, (p) => p.reject(e)));
      this.idle.push(w);
    }
  }

  run(job: ScoreJob): Promise<ScoreOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.idle, ...this.busy.keys()].map((w) => w.terminate()));
  }

  private settle(w: Worker, f: (p: Pending) => void): void {
    const p = this.busy.get(w);
    this.busy.delete(w);
    this.idle.push(w);
    if (p) f(p);
    this.pump();
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop() as Worker;
      const p = this.queue.shift() as Pending;
      this.busy.set(w, p);
      w.postMessage(p.job);
    }
  }
}
