/**
 * DAVE benchmark (issue 3):
 *   join_to_transitioned  real @discordjs/voice + davey clients: n-1 clients hold a group, the n-th joins;
 *                         time from its joinVoiceChannel() to its `transitioned` event (the new epoch executed),
 *                         for n = 2, 5, 10, 25. Baseline in the same run: the same join with DAVE off, to Ready.
 *   sfu_forward           router fan-out (one speaker → 9 receivers, per-receiver AES-GCM sealing, no sockets) of real
 *                         davey-encrypted frames through the DAVE media gate, against plain frames in a channel
 *                         without DAVE. Figures: frames forwarded per second and the ratio.
 *
 *   npm run bench -- dave [--sizes=2,5,10,25] [--reps=3] [--ms=500] [--rounds=7]
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { emit, ratio, round } from './_harness.ts';
import { loadTls } from '../common/tls.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SIZES = (arg('sizes') ?? '2,5,10,25').split(',').map(Number);
const REPS = Number(arg('reps') ?? 3);
const MS = Number(arg('ms') ?? 500);
const ROUNDS = Number(arg('rounds') ?? 7);

// @discordjs/voice only speaks wss:// with Node's default TLS checks: trust the development certificate by
// re-running this benchmark with NODE_EXTRA_CA_CERTS set (it is read only at process start).
if (!process.env.RESOUND_BENCH_DAVE_CHILD) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-bench-dave-'));
  const tls = await loadTls({ dataDir });
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      RESOUND_BENCH_DAVE_CHILD: '1',
      NODE_EXTRA_CA_CERTS: tls.certPath,
      RESOUND_TEST_DATA_DIR: dataDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    },
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}

const { joinClient, newId, startTestGateway, waitForSharedGroup, destroyQuietly, SimNet, userId } =
  await import('../testkit/index.ts');
type TestClient = import('../testkit/index.ts').TestClient;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function joinLatencies(): Promise<void> {
  const daveGw = await startTestGateway({ VOICE_E2EE: 'optional' });
  const plainGw = await startTestGateway({ VOICE_E2EE: 'off' });
  try {
    for (const n of SIZES) {
      const dave: number[] = [];
      const plain: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const guild = newId();
        // DAVE: n-1 clients form a group, then the n-th joins.
        const channel = newId();
        const present: TestClient[] = [];
        for (let i = 0; i < n - 1; i++)
          present.push(await joinClient(daveGw, guild, channel, { daveEncryption: true }));
        if (present.length >= 2) await waitForSharedGroup(present, 0n, 60_000);
        const t0 = performance.now();
        const lastUser = newId();
        let t1 = 0;
        const joining = joinClient(daveGw, guild, channel, {
          daveEncryption: true,
          userId: lastUser,
          waitReady: false,
        });
        const last = await joining;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`n=${n}: no transition within 60 s`)), 60_000);
          last.connection.on('transitioned', (id: number) => {
            if (id === 0) return;
            t1 = performance.now();
            clearTimeout(timer);
            resolve();
          });
        });
        await waitForSharedGroup([...present, last], 0n, 60_000);
        dave.push(t1 - t0);
        for (const c of [...present, last]) destroyQuietly(c);

        // Baseline: the same join without DAVE, to Ready.
        const pchannel = newId();
        const ppresent: TestClient[] = [];
        for (let i = 0; i < n - 1; i++)
          ppresent.push(await joinClient(plainGw, guild, pchannel, { daveEncryption: false }));
        const p0 = performance.now();
        const plast = await joinClient(plainGw, guild, pchannel, { daveEncryption: false });
        plain.push(performance.now() - p0);
        for (const c of [...ppresent, plast]) destroyQuietly(c);
        await new Promise((r) => setTimeout(r, 200));
      }
      const d = median(dave);
      const p = median(plain);
      emit({
        bench: 'dave',
        figure: 'join_to_transitioned_ms',
        clients: n,
        reps: REPS,
        median_ms: round(d),
        baseline: 'join_to_ready_without_dave_ms',
        baseline_ms: round(p),
        ratio: ratio(d, p),
      });
    }
  } finally {
    await Promise.all([daveGw.close(), plainGw.close()]);
  }
}

async function forwardingThroughput(): Promise<void> {
  const { Router, SfuMetrics, Transport, createTransportCipher, inboundFrame } = await import('../sfu/index.ts');
  const { DaveMediaGate } = await import('../signaling/index.ts');
  type OutgoingFrame = import('../sfu/index.ts').OutgoingFrame;
  const RECEIVERS = 9;
  const net = new SimNet();
  const clients = Array.from({ length: RECEIVERS + 1 }, () => net.join(userId()));
  net.pump();
  if (!clients.every((c) => c.ready)) throw new Error('simulated DAVE group did not form');
  const opus = Buffer.alloc(120, 0x5a);
  opus[0] = 0xfc;
  const e2ee = clients[0].encrypt(opus);
  let sent = 0;
  // Each receiver's transport seals the frame with its own AES-256-GCM key, as the UDP transport does; no socket.
  class SealOnly extends Transport {
    readonly kind = 'seal-only';
    private readonly cipher = createTransportCipher('aead_aes256_gcm_rtpsize', crypto.randomBytes(32));
    private readonly out = Buffer.alloc(2048);
    private nonce = 0x80000000;
    send(f: OutgoingFrame): void {
      const out = this.out;
      out[0] = 0x80;
      out[1] = 0x78;
      out.writeUInt16BE(f.sequence, 2);
      out.writeUInt32BE(f.timestamp, 4);
      out.writeUInt32BE(f.ssrc, 8);
      this.cipher.seal(out, 12, f.data.subarray(f.offset), f.payloadLength, this.nonce++ >>> 0);
      sent++;
    }
    protected release(): void {
      this.cipher.close();
    }
  }

  const run = (withDave: boolean, payload: Buffer): number => {
    const router = new Router(withDave ? 'dave' : 'plain', new SfuMetrics(new Registry()), pino({ level: 'silent' }));
    const ps = clients.map((c, i) => router.addParticipant(c.userId, router.adoptTransport(new SealOnly(1000 + i))));
    if (withDave) router.setGate(new DaveMediaGate(net.group));
    const frame = inboundFrame(payload);
    const step = () => {
      frame.sequence = (frame.sequence + 1) & 0xffff;
      frame.timestamp = (frame.timestamp + 960) >>> 0;
      router.forward(ps[0], frame, 0);
    };
    for (let i = 0; i < 20_000; i++) step();
    sent = 0;
    const start = performance.now();
    let frames = 0;
    while (performance.now() - start < MS) {
      for (let i = 0; i < 1000; i++) step();
      frames += 1000;
    }
    const elapsed = (performance.now() - start) / 1000;
    if (sent !== frames * RECEIVERS)
      throw new Error(`${withDave ? 'E2EE' : 'plain'} frames were dropped: ${sent} of ${frames * RECEIVERS}`);
    router.close();
    return (frames * RECEIVERS) / elapsed;
  };
  // Alternate the two systems over several short rounds (the machine is shared) and report each one's median round.
  const plainRounds: number[] = [];
  const daveRounds: number[] = [];
  const ungatedRounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plainRounds.push(run(false, opus));
    daveRounds.push(run(true, e2ee));
    ungatedRounds.push(run(false, e2ee));
  }
  const plain = median(plainRounds);
  const dave = median(daveRounds);
  const ungated = median(ungatedRounds);
  emit({
    bench: 'dave',
    figure: 'sfu_forward_frames_per_s',
    receivers: RECEIVERS,
    rounds: ROUNDS,
    e2ee_frame_bytes: e2ee.length,
    e2ee_per_s: Math.round(dave),
    baseline: 'plain_frames_without_dave_gate',
    baseline_per_s: Math.round(plain),
    ratio: ratio(dave, plain),
  });
  // The gate's own cost: the same E2EE frames with and without it.
  emit({
    bench: 'dave',
    figure: 'sfu_gate_frames_per_s',
    receivers: RECEIVERS,
    rounds: ROUNDS,
    gated_per_s: Math.round(dave),
    baseline: 'same_e2ee_frames_without_gate',
    baseline_per_s: Math.round(ungated),
    ratio: ratio(dave, ungated),
  });
}

await forwardingThroughput();
await joinLatencies();
process.exit(0);
