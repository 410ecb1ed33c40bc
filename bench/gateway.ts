/**
 * `npm run bench -- gateway`: the v10 gateway's fan-out and transport compression, each next to a baseline measured
 * in the same run.
 * - fan-out of dispatches to BENCH_SESSIONS (10 000) sessions on one node, uncompressed and zlib-stream: events/s
 *   delivered (to every session), p50/p99 delivery lag, server CPU — versus a bare `ws` broadcast of the same
 *   payloads (uncompressed) and a naive per-connection JSON.stringify + deflate (zlib-stream);
 * - bytes per dispatch on the recorded event stream: raw, zlib-stream, zstd-stream variants (see _gateway-bytes.ts);
 * - the Redis bus: one channel per bus shard (the product) versus one channel per guild.
 * The load generator is a child process (bench/_gateway-clients.ts); its open-files limit is raised to the hard
 * limit through bash (`ulimit -n`); this process needs ≥ BENCH_SESSIONS + ~100 open files itself (check `ulimit -n`).
 * Env: BENCH_SESSIONS (10000), BENCH_ROUNDS (20), BENCH_BURST (5), BENCH_SAMPLE (200 sockets decode and time),
 * BENCH_PARTS (bytes,fanout,bus), REDIS_URL.
 */
import { emit, ratio, round } from './_harness.ts';
import { bareWsServer, naiveDeflateServer } from './_gateway-baselines.ts';
import { bytesPerDispatch, loadStream } from './_gateway-bytes.ts';
import { measureFanout, type FanoutResult } from './_gateway-fanout.ts';
import { gatewayServer, ZSTD_LEVEL } from './_gateway-ours.ts';
import { measureBus } from './_gateway-bus.ts';

const N = Number(process.env.BENCH_SESSIONS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const BURST = Number(process.env.BENCH_BURST ?? 5);
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 200);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'bytes,fanout,bus').split(','));

if (PARTS.has('bytes')) {
  const b = await bytesPerDispatch(ZSTD_LEVEL);
  const zlibWarm = b.variants[0].warm;
  const zlibCold = b.variants[0].cold;
  emit({ figure: 'gateway_bytes_per_dispatch', transport: 'raw', bytes: round(b.raw, 1), dispatches: b.dispatches });
  for (const v of b.variants)
    emit({
      figure: 'gateway_bytes_per_dispatch',
      transport: v.name,
      bytes_warm: round(v.warm, 1),
      bytes_cold_20: round(v.cold, 1),
      baseline: 'zlib-stream',
      ratio_warm: ratio(v.warm, zlibWarm),
      fewer_bytes_pct_warm: round((1 - v.warm / zlibWarm) * 100, 1),
      ratio_cold: ratio(v.cold, zlibCold),
      fewer_bytes_pct_cold: round((1 - v.cold / zlibCold) * 100, 1),
      goal: 'zstd ≥ 40 % fewer bytes than zlib-stream',
    });
}

if (PARTS.has('fanout')) {
  // MESSAGE_CREATEs from the recorded stream: the dispatch every member of a busy guild receives.
  const payloads = loadStream().filter((e) => e.t === 'MESSAGE_CREATE');
  const opts = { n: N, rounds: ROUNDS, burst: BURST, sample: SAMPLE };
  const line = (name: string, r: FanoutResult, base: FanoutResult, baseline: string, goal: string) =>
    emit({
      figure: 'gateway_fanout',
      server: name,
      ...r,
      baseline,
      baseline_events_per_s: base.events_per_s,
      baseline_p99_lag_ms: base.p99_lag_ms,
      baseline_server_cpu_pct: base.server_cpu_pct,
      baseline_server_cpu_ms_per_1k_deliveries: base.server_cpu_ms_per_1k_deliveries,
      ratio: ratio(r.events_per_s, base.events_per_s),
      // >1 = fewer server CPU-seconds per delivery than the baseline.
      cpu_efficiency_ratio: ratio(base.server_cpu_ms_per_1k_deliveries, r.server_cpu_ms_per_1k_deliveries),
      goal,
    });
  const bare = await measureFanout(await bareWsServer(), payloads, opts);
  const ours = await measureFanout(await gatewayServer('none'), payloads, opts);
  line('gateway (uncompressed)', ours, bare, 'bare ws broadcast', '≥ 0.8× the bare ws broadcast');
  const naive = await measureFanout(await naiveDeflateServer(), payloads, opts);
  const oursZ = await measureFanout(await gatewayServer('zlib-stream'), payloads, opts);
  line('gateway (zlib-stream)', oursZ, naive, 'naive per-connection stringify + deflate', '≥ 2× the naive deflate');
}

if (PARTS.has('bus')) {
  for (const f of await measureBus()) emit({ figure: 'gateway_bus', ...f });
}
process.exit(0);
