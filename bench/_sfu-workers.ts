/**
 * The SFU worker pool cells of `npm run bench -- sfu` (issue 16, one SFU worker per core): `SfuWorkerPool` with 1 and
 * with 2 worker processes, AES-GCM, the same channel shapes and load generator as the other cells, each pool hosted
 * by a forked child that plays the signaling process (bench/_sfu-workers-sut.ts). The server's CPU time is the sum of
 * the worker processes' (`SfuWorker.cpuSeconds()`); neither the signaling child nor the generator counts.
 * `efficiency_2` = forwarded packets per CPU-second with 2 workers ÷ with 1: what a second worker costs per packet
 * (1.0: none). Wall-clock packets/s at saturation are printed too, but on a machine whose cores the generator and
 * other jobs share they say how much CPU the workers got, not what they can do.
 */
import { emit, ratio, round } from './_harness.ts';
import { perCpuSecond } from './_sfu-io.ts';
import type { RunSystem, StepResult } from './_sfu-types.ts';
import type { TransportMode } from '../sfu/index.ts';

const MODE: TransportMode = 'aead_aes256_gcm_rtpsize';
const MB = 1024 * 1024;

interface PoolCell {
  workers: number;
  steps: StepResult[];
  perCpuSecond: number;
  peak: StepResult;
  rssMbPer1000: number;
}

/** `speakers`: simulated clients per channel (to report channels from participants). */
export async function workerCells(
  run: RunSystem,
  shape: { speakers: number },
): Promise<{ efficiency: number; cells: PoolCell[] }> {
  const cells: PoolCell[] = [];
  for (const workers of [1, 2]) {
    const steps = await run(`Resound SFU AES-GCM, ${workers} worker process(es)`, 'workers', MODE, {
      host: 'process',
      workers,
    });
    const peak = steps.reduce((m, r) => (r.forwarded > m.forwarded ? r : m), steps[0]);
    const last = steps[steps.length - 1];
    cells.push({
      workers,
      steps,
      perCpuSecond: perCpuSecond(steps),
      peak,
      rssMbPer1000: round(((last.rssBytes - last.rssEmptyBytes) / MB / last.participants) * 1000, 1),
    });
  }
  const [one, two] = cells;
  const efficiency = ratio(two.perCpuSecond, one.perCpuSecond);
  // Where both pools ran the same step: the same ratio per load, to see whether it depends on how busy they were.
  const byStep = two.steps.flatMap((r) => {
    const o = one.steps.find((x) => x.channels === r.channels);
    return o ? [{ channels: r.channels, ratio: ratio(r.perCore, o.perCore) }] : [];
  });
  // Which worker the pool placed the active channels on, and what each forwarded, at the 2-worker peak.
  const pw = two.peak.perWorker ?? [];
  const spread = { channels: pw.map((w) => w.channels), forwarded_pps: pw.map((w) => w.forwarded) };
  emit({
    bench: 'sfu',
    figure: 'workers',
    efficiency_2: efficiency,
    per_cpu_s_1: one.perCpuSecond,
    per_cpu_s_2: two.perCpuSecond,
    wall_pps_1: one.peak.forwarded,
    wall_pps_2: two.peak.forwarded,
    channels: one.peak.participants / shape.speakers,
    peak_channels_1: one.peak.channels,
    peak_channels_2: two.peak.channels,
    cpu_cores_at_peak_1: one.peak.cpu,
    cpu_cores_at_peak_2: two.peak.cpu,
    efficiency_2_by_step: byStep,
    spread_2_at_peak: spread,
    received_ratio_at_peak: [one.peak.receivedRatio, two.peak.receivedRatio],
    rss_mb_per_1000_participants: [one.rssMbPer1000, two.rssMbPer1000],
    rss_mb: [round(one.peak.rssBytes / MB, 1), round(two.peak.rssBytes / MB, 1)],
    mode: MODE,
    io: two.peak.io,
    baseline: '1 SFU worker process, same run',
  });
  process.stderr.write(
    [
      '| SFU worker processes | forwarded pkt per CPU-second | × 1 worker | peak forwarded pkt/s (channels, CPU cores) | received ÷ forwarded | RSS MB per 1,000 participants |',
      '|---:|---:|---:|---:|---:|---:|',
      ...cells.map(
        (c) =>
          `| ${c.workers} | ${c.perCpuSecond.toLocaleString('en')} | ${ratio(c.perCpuSecond, one.perCpuSecond)} | ${c.peak.forwarded.toLocaleString('en')} (${c.peak.channels}, ${c.peak.cpu}) | ${c.peak.receivedRatio} | ${c.rssMbPer1000} |`,
      ),
    ].join('\n') + '\n',
  );
  return { efficiency, cells };
}
