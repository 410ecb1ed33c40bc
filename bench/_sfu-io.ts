/**
 * The datagram I/O cells of `npm run bench -- sfu` (issue 16): the bare relay, Resound on node:dgram and Resound
 * batched (native/udp-mmsg), AES-GCM, each system in its own child process so its CPU time and resident memory are
 * the whole server process's, read from /proc. Per system: forwarded packets per CPU-second (best step with the
 * process ≥ 50 % busy), then one more run at 80 % of that saturation for latency p50/p99, latency at the lowest step,
 * and resident memory per 1,000 participants (all channels' participants exist from the start). The figures are
 * printed so the mediasoup cells measured in the same run can be set beside them (`vs_mediasoup`).
 */
import { emit, ratio, round } from './_harness.ts';
import type { RunSystem, StepResult } from './_sfu-types.ts';
import type { IoChoice, TransportMode } from '../sfu/index.ts';

const MODE: TransportMode = 'aead_aes256_gcm_rtpsize';

interface Cell {
  key: 'relay' | 'dgram' | 'batched';
  name: string;
  kind: 'relay' | 'sfu';
  io?: IoChoice;
}

const CELLS: Cell[] = [
  { key: 'relay', name: 'bare UDP relay (process)', kind: 'relay' },
  { key: 'dgram', name: 'Resound SFU AES-GCM, node:dgram I/O', kind: 'sfu', io: 'dgram' },
  { key: 'batched', name: 'Resound SFU AES-GCM, batched I/O', kind: 'sfu', io: 'batched' },
];

export interface IoCellResult {
  perCpuSecond: number;
  channels80: number;
  p50At80: number;
  p99At80: number;
  p50Low: number;
  p99Low: number;
  lowChannels: number;
  rssMbPer1000: number;
  rssMb: number;
  io: string;
}

/** Forwarded packets per CPU-second: the best step where the process was at least half busy. */
export function perCpuSecond(rs: StepResult[]): number {
  const busy = rs.filter((r) => r.cpu >= 0.5);
  return Math.max(...(busy.length > 0 ? busy : rs).map((r) => r.perCore));
}

const MB = 1024 * 1024;

/**
 * `stepPackets`: forwarded packets per second one channel offers (speakers × fan-out × packets/s), to turn 80 % of a
 * saturation rate into a channel count; `maxChannels`: the most channels the load generator has clients for.
 */
export async function ioCells(
  run: RunSystem,
  shape: { stepPackets: number; maxChannels: number },
): Promise<Record<Cell['key'], IoCellResult>> {
  const out = {} as Record<Cell['key'], IoCellResult>;
  for (const cell of CELLS) {
    const steps = await run(cell.name, cell.kind, MODE, { host: 'process', io: cell.io });
    const rate = perCpuSecond(steps);
    const channels80 = Math.max(1, Math.min(shape.maxChannels, Math.floor((0.8 * rate) / shape.stepPackets)));
    const [at80] = await run(`${cell.name} at 80 %`, cell.kind, MODE, {
      host: 'process',
      io: cell.io,
      steps: [channels80],
    });
    const low = steps[0];
    const last = steps[steps.length - 1];
    const r: IoCellResult = {
      perCpuSecond: rate,
      channels80,
      p50At80: at80.p50,
      p99At80: at80.p99,
      p50Low: low.p50,
      p99Low: low.p99,
      lowChannels: low.channels,
      rssMbPer1000: round(((last.rssBytes - last.rssEmptyBytes) / MB / last.participants) * 1000, 1),
      rssMb: round(last.rssBytes / MB, 1),
      io: last.io,
    };
    out[cell.key] = r;
    emit({ bench: 'sfu', figure: 'io_cell', system: cell.name, mode: cell.kind === 'sfu' ? MODE : null, ...r });
  }
  const { relay, dgram, batched } = out;
  emit({
    bench: 'sfu',
    figure: 'sfu_io',
    batched_per_cpu_second: batched.perCpuSecond,
    dgram_per_cpu_second: dgram.perCpuSecond,
    relay_per_cpu_second: relay.perCpuSecond,
    ratio_batched_vs_dgram: ratio(batched.perCpuSecond, dgram.perCpuSecond),
    ratio_batched_vs_relay: ratio(batched.perCpuSecond, relay.perCpuSecond),
    ratio_dgram_vs_relay: ratio(dgram.perCpuSecond, relay.perCpuSecond),
    batched_p50_p99_ms_at_80pct: [batched.p50At80, batched.p99At80],
    dgram_p50_p99_ms_at_80pct: [dgram.p50At80, dgram.p99At80],
    relay_p50_p99_ms_at_80pct: [relay.p50At80, relay.p99At80],
    low_load_channels: batched.lowChannels,
    batched_p50_p99_ms_low: [batched.p50Low, batched.p99Low],
    dgram_p50_p99_ms_low: [dgram.p50Low, dgram.p99Low],
    batched_added_p99_ms_at_80pct_vs_relay_at_80pct: round(batched.p99At80 - relay.p99At80, 3),
    rss_mb_per_1000_participants: { batched: batched.rssMbPer1000, dgram: dgram.rssMbPer1000 },
    baseline: 'bare Node UDP relay and Resound on node:dgram, same run, each in its own process',
    // For the merged `vs_mediasoup` line: ratio_srtp_gcm = batched_per_cpu_second / mediasoup SRTP AES-GCM's.
  });
  const row = (c: Cell) => {
    const r = out[c.key];
    return `| ${c.name} | ${r.perCpuSecond.toLocaleString('en')} | ${ratio(r.perCpuSecond, relay.perCpuSecond)} | ${r.p50At80} / ${r.p99At80} (${r.channels80} ch) | ${r.p50Low} / ${r.p99Low} | ${c.kind === 'relay' ? '—' : r.rssMbPer1000} |`;
  };
  process.stderr.write(
    [
      '| system | forwarded pkt per CPU-second | × relay | p50 / p99 ms at 80 % | p50 / p99 ms at low load | RSS MB per 1,000 participants |',
      '|---|---:|---:|---:|---:|---:|',
      ...CELLS.map(row),
    ].join('\n') + '\n',
  );
  return out;
}
