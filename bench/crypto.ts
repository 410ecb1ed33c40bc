/**
 * Transport-crypto throughput: encrypts/s and decrypts/s of whole voice packets (12-byte RTP header, 160-byte Opus
 * payload) for every mode on every backend, each beside node:crypto AES-256-GCM with a new cipher per packet,
 * measured in the same run. Rates are operations per CPU-second of this process (user + system), which stays
 * meaningful when other work shares the cores; `wall_per_sec` is the plain wall-clock rate. `gc_per_million` counts
 * young-generation collections per million operations: 0 means the path allocates nothing on the JavaScript heap.
 *
 *   npm run bench -- crypto [--ms=400]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { emit, ratio, round } from './_harness.ts';
import {
  TRANSPORT_MODES,
  backendsFor,
  createTransportCipher,
  loadLibsodiumWrappers,
  preferredModes,
  type CryptoBackend,
  type TransportMode,
} from '../sfu/index.ts';

const msArg = process.argv.find((a) => a.startsWith('--ms='));
const MS = msArg ? Number(msArg.slice(5)) : 400;
const PAYLOAD = 160;
const HEADER = 12;

let gcCount = 0;
const obs = new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });
const flushGc = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Figure {
  /** Operations per CPU-second. */
  perSec: number;
  wallPerSec: number;
  gcPerMillion: number;
}

async function measure(op: () => void): Promise<Figure> {
  for (let i = 0; i < 20_000; i++) op(); // warm up (JIT, caches)
  await flushGc();
  const gc0 = gcCount;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) op();
    n += 1000;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await flushGc();
  return { perSec: n / cpuSeconds, wallPerSec: n / seconds, gcPerMillion: ((gcCount - gc0) * 1e6) / n };
}

async function run(mode: TransportMode, backend: CryptoBackend): Promise<{ enc: Figure; dec: Figure }> {
  const key = new Uint8Array(32).map((_, i) => i * 7);
  const tx = createTransportCipher(mode, key, { backend });
  const rx = createTransportCipher(mode, key, { backend });
  const plaintext = new Uint8Array(PAYLOAD).map((_, i) => i);
  const out = new Uint8Array(2048);
  out.set([0x80, 0x78, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef]);
  let nonce = 0x80000000;
  const enc = await measure(() => {
    tx.seal(out, HEADER, plaintext, PAYLOAD, nonce++);
  });
  const packet = new Uint8Array(2048);
  packet.set(out.subarray(0, HEADER));
  const len = tx.seal(packet, HEADER, plaintext, PAYLOAD, 1);
  const clear = new Uint8Array(2048);
  const hl = rx.headerLength(packet, len);
  if (rx.open(packet, len, hl, clear) !== PAYLOAD) throw new Error(`${mode}/${backend}: round trip failed`);
  const dec = await measure(() => {
    rx.open(packet, len, hl, clear);
  });
  tx.close();
  rx.close();
  return { enc, dec };
}

await loadLibsodiumWrappers();
const baseline = await run('aead_aes256_gcm_rtpsize', 'node-crypto');
const table: string[] = [
  '| mode | backend | encrypts/s per core | × baseline | decrypts/s per core | × baseline | GCs per 1M enc |',
  '|---|---|---:|---:|---:|---:|---:|',
];
for (const mode of TRANSPORT_MODES) {
  for (const backend of backendsFor(mode)) {
    const r = mode === 'aead_aes256_gcm_rtpsize' && backend === 'node-crypto' ? baseline : await run(mode, backend);
    for (const [op, f, b] of [
      ['encrypt', r.enc, baseline.enc],
      ['decrypt', r.dec, baseline.dec],
    ] as const) {
      emit({
        bench: 'crypto',
        figure: `${op}s_per_sec`,
        mode,
        backend,
        payload_bytes: PAYLOAD,
        value: Math.round(f.perSec),
        unit: 'per CPU-second',
        wall_per_sec: Math.round(f.wallPerSec),
        baseline: 'node:crypto aead_aes256_gcm_rtpsize (new cipher per packet)',
        baseline_value: Math.round(b.perSec),
        ratio: ratio(f.perSec, b.perSec),
        gc_per_million: round(f.gcPerMillion, 1),
      });
    }
    const cells = [
      mode,
      backend,
      Math.round(r.enc.perSec).toLocaleString('en'),
      ratio(r.enc.perSec, baseline.enc.perSec),
      Math.round(r.dec.perSec).toLocaleString('en'),
      ratio(r.dec.perSec, baseline.dec.perSec),
      round(r.enc.gcPerMillion, 1),
    ];
    table.push(`| ${cells.join(' | ')} |`);
  }
}
obs.disconnect();
emit({ bench: 'crypto', figure: 'preferred_modes', value: preferredModes() });
process.stderr.write(table.join('\n') + '\n');
