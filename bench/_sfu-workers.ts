/**
 * The SFU worker pool cells of `npm run bench -- sfu` (issue 16, one SFU worker per core): `SfuWorkerPool` with 1 and
 * with 2 worker processes, AES-GCM, the same channel shapes and load generator as the other cells, each pool hosted
 * by a forked child that plays the signaling process (bench/_sfu-workers-sut.ts). The server's CPU time is the sum of
 * the worker processes' (`SfuWorker.cpuSeconds()`); neither the signaling child nor the generator counts.
 *
 * `efficiency_2` = forwarded packets per CPU-second with 2 workers ÷ with 1, each at its saturation by the io cells'
 * rule (best step with the server at least half a core busy): what a second worker costs per packet (1.0: nothing).
 * On a shared machine one step's figure swings by ±20 %, so the pools run in rounds ordered 1,2 then 2,1 (a drift in
 * the machine's load cancels) and the median over rounds is taken. Because batched I/O gets cheaper per packet the
 * more packets each wake-up finds, the figure depends on the load each worker sees, so two fixed-load readings are
 * printed next to it (same total traffic; same traffic per worker). Wall-clock packets/s at saturation are printed
 * too, but where the generator and other jobs share the cores they say how much CPU the workers got.
 */
import { emit, ratio, round } from './_harness.ts';
import { perCpuSecond } from './_sfu-io.ts';
import type { RunSystem, StepResult } from './_sfu-types.ts';
import type { TransportMode } from '../sfu/index.ts';

const MODE: TransportMode = 'aead_aes256_gcm_rtpsize';
const MB = 1024 * 1024;

interface PoolCell {
  workers: number;
  round: number;
  steps: StepResult[];
  peak: StepResult;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};
const peakOf = (steps: StepResult[]) => steps.reduce((m, r) => (r.forwarded > m.forwarded ? r : m), steps[0]);
const rssMbPer1000 = (r: StepResult) => round(((r.rssBytes - r.rssEmptyBytes) / MB / r.participants) * 1000, 1);

/** Σ forwarded and Σ CPU (both per second of equal windows) of `cell`'s steps at the channel counts in `matched`. */
function pooled(cell: PoolCell, matched: Set<number>): { forwarded: number; cpu: number } {
  const steps = cell.steps.filter((r) => matched.has(r.channels));
  return { forwarded: steps.reduce((n, r) => n + r.forwarded, 0), cpu: steps.reduce((n, r) => n + r.cpu, 0) };
}

/**
 * `speakers`: simulated clients per channel; `rounds`: pairs of runs (1,2 then 2,1 …); `measureMs`: window per step.
 */
export async function workerCells(
  run: RunSystem,
  shape: { speakers: number; rounds: number; measureMs: number },
): Promise<{ efficiency: number }> {
  const cells: PoolCell[] = [];
  for (let r = 0; r < shape.rounds; r++) {
    for (const workers of r % 2 === 0 ? [1, 2] : [2, 1]) {
      const steps = await run(`Resound SFU AES-GCM, ${workers} worker process(es), round ${r + 1}`, 'workers', MODE, {
        host: 'process',
        workers,
        measureMs: shape.measureMs,
      });
      cells.push({ workers, round: r, steps, peak: peakOf(steps) });
    }
  }
  const of = (n: number) => cells.filter((c) => c.workers === n);
  const cell = (r: number, n: number) => cells.find((c) => c.round === r && c.workers === n)!;
  // The headline, the io cells' rule: each pool's best step with the server at least half a core busy (its
  // saturation), median over rounds.
  const perCpu1 = Math.round(median(of(1).map((c) => perCpuSecond(c.steps))));
  const perCpu2 = Math.round(median(of(2).map((c) => perCpuSecond(c.steps))));
  const efficiency = ratio(perCpu2, perCpu1);
  const perRound = Array.from({ length: shape.rounds }, (_, r) =>
    ratio(perCpuSecond(cell(r, 2).steps), perCpuSecond(cell(r, 1).steps)),
  );
  // Two readings that hold the load fixed instead, Σ forwarded ÷ Σ CPU over step pairs both pools ran in a round:
  // the same total traffic (N channels on 1 worker vs on 2: each of the 2 gets half the packets per wake-up, so
  // smaller batches), and the same traffic per worker (N channels on 1 worker vs 2N on 2).
  const fixedLoad = (twoChannels: (n: number) => number): number => {
    const sum = { 1: { forwarded: 0, cpu: 0 }, 2: { forwarded: 0, cpu: 0 } };
    for (let r = 0; r < shape.rounds; r++) {
      const [one, two] = [cell(r, 1), cell(r, 2)];
      const pairs = one.steps.filter((s) => two.steps.some((t) => t.channels === twoChannels(s.channels)));
      const a = pooled(one, new Set(pairs.map((s) => s.channels)));
      const b = pooled(two, new Set(pairs.map((s) => twoChannels(s.channels))));
      sum[1].forwarded += a.forwarded;
      sum[1].cpu += a.cpu;
      sum[2].forwarded += b.forwarded;
      sum[2].cpu += b.cpu;
    }
    return ratio(sum[2].forwarded / sum[2].cpu, sum[1].forwarded / sum[1].cpu);
  };
  const byChannels = new Map<number, { 1: number[]; 2: number[] }>();
  for (const c of cells)
    for (const s of c.steps) {
      const e = byChannels.get(s.channels) ?? { 1: [], 2: [] };
      e[c.workers as 1 | 2].push(s.perCore);
      byChannels.set(s.channels, e);
    }
  // The best wall-clock rate either pool reached (the step where it saturated or the last one), over all rounds.
  const best = (n: number) => of(n).reduce((m, c) => (c.peak.forwarded > m.peak.forwarded ? c : m));
  const [best1, best2] = [best(1), best(2)];
  // How the pool placed the active channels, and what each worker forwarded, at the best 2-worker step.
  const pw = best2.peak.perWorker ?? [];
  const last = (n: number) => of(n)[of(n).length - 1].steps.at(-1)!;
  emit({
    bench: 'sfu',
    figure: 'workers',
    efficiency_2: efficiency,
    per_cpu_s_1: perCpu1,
    per_cpu_s_2: perCpu2,
    wall_pps_1: best1.peak.forwarded,
    wall_pps_2: best2.peak.forwarded,
    channels: best1.peak.participants / shape.speakers,
    wall_channels_1: best1.peak.channels,
    wall_channels_2: best2.peak.channels,
    wall_cpu_cores_1: best1.peak.cpu,
    wall_cpu_cores_2: best2.peak.cpu,
    efficiency_2_per_round: perRound,
    efficiency_2_same_traffic: fixedLoad((n) => n),
    efficiency_2_same_traffic_per_worker: fixedLoad((n) => 2 * n),
    // Per step, median over rounds: [channels, 1 worker, 2 workers] forwarded per CPU-second.
    per_cpu_s_by_channels: [...byChannels]
      .sort((a, b) => a[0] - b[0])
      .map(([ch, e]) => [ch, Math.round(median(e[1])), Math.round(median(e[2]))]),
    // Median over each pool's steps: how often the scheduler preempted the workers per CPU-second they got.
    preemptions_per_cpu_s: [1, 2].map((n) =>
      Math.round(median(of(n).flatMap((c) => c.steps.map((s) => s.preemptionsPerCpuS ?? NaN)))),
    ),
    spread_2: { channels: pw.map((w) => w.channels), forwarded_pps: pw.map((w) => w.forwarded) },
    received_ratio: [best1.peak.receivedRatio, best2.peak.receivedRatio],
    rss_mb_per_1000_participants: [rssMbPer1000(last(1)), rssMbPer1000(last(2))],
    rss_mb: [round(last(1).rssBytes / MB, 1), round(last(2).rssBytes / MB, 1)],
    rounds: shape.rounds,
    measure_ms: shape.measureMs,
    mode: MODE,
    io: best2.peak.io,
    baseline: '1 SFU worker process, same run',
  });
  process.stderr.write(
    [
      '| SFU worker processes | forwarded pkt per CPU-second (at saturation) | × 1 worker | best wall pkt/s (channels, CPU cores) | received ÷ forwarded | RSS MB per 1,000 participants |',
      '|---:|---:|---:|---:|---:|---:|',
      `| 1 | ${perCpu1.toLocaleString('en')} | 1 | ${best1.peak.forwarded.toLocaleString('en')} (${best1.peak.channels}, ${best1.peak.cpu}) | ${best1.peak.receivedRatio} | ${rssMbPer1000(last(1))} |`,
      `| 2 | ${perCpu2.toLocaleString('en')} | ${efficiency} | ${best2.peak.forwarded.toLocaleString('en')} (${best2.peak.channels}, ${best2.peak.cpu}) | ${best2.peak.receivedRatio} | ${rssMbPer1000(last(2))} |`,
    ].join('\n') + '\n',
  );
  return { efficiency };
}
