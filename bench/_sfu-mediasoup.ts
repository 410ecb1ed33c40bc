/**
 * mediasoup cells of `npm run bench -- sfu` (issue 14): the same channel shapes as the native SFU's run (10 speakers
 * per channel at 50 packets/s, 160-byte payloads, fan-out 9), forwarded by one mediasoup worker process through one
 * PlainTransport per simulated client (a Producer each, a Consumer per channel mate). Two modes: plain RTP, and SRTP
 * AEAD_AES_256_GCM (decrypt once, re-encrypt per receiver: the like-for-like comparison to the native SFU's
 * aead_aes256_gcm_rtpsize). Forwarded packets come from the worker's own counters (transport rtpBytesSent ÷ packet
 * size) and CPU from /proc/<worker pid>/stat, so the figure is packets/s per CPU-second of the server process.
 */
import crypto from 'node:crypto';
import dgram, { type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types as ms } from 'mediasoup';
import { CONSUMER_CAPABILITIES, resolveWorkerBin, ROUTER_CODECS } from '../sfu/index.ts';
import { emit, round } from './_harness.ts';

const SPEAKERS = 10;
const FANOUT = SPEAKERS - 1;
const PERIOD_MS = 20;
const PAYLOAD = 160;
const PT = 111;
/** What the worker counts per forwarded packet (RTP header + payload, before SRTP's tag). */
const COUNTED_BYTES = 12 + PAYLOAD;
const WARMUP_MS = 1000;
const CLK_TCK = 100;

export interface MediasoupStep {
  channels: number;
  offered: number;
  forwarded: number;
  cpu: number;
  perCore: number;
  skippedSends: number;
  saturated: boolean;
}

export type MediasoupMode = 'plain' | 'srtp';

/** RFC 3711 §4.3 key derivation (AES-CM PRF, kdr 0) as libsrtp runs it for the AEAD suites (12-byte salt). */
function srtpKdf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] ^= label;
  const c = crypto.createCipheriv('aes-256-ctr', masterKey, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

interface Client {
  socket: Socket;
  port: number;
  transport: ms.PlainTransport;
  ssrc: number;
  seq: number;
  ts: number;
  roc: number;
  due: number;
  key?: Buffer;
  salt?: Buffer;
}

/** Stops libuv from reading a socket: the kernel queues, then drops, what the worker sends it. */
function stopReceiving(socket: Socket): void {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state: unknown = sym ? Reflect.get(socket, sym) : undefined;
  const handle: unknown = state && typeof state === 'object' ? Reflect.get(state, 'handle') : undefined;
  const recvStop: unknown = handle && typeof handle === 'object' ? Reflect.get(handle, 'recvStop') : undefined;
  if (typeof recvStop === 'function') recvStop.call(handle);
}

function cpuSeconds(pid: number): number {
  // Fields after the parenthesised command: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

const payload = crypto.randomBytes(PAYLOAD);

function packet(c: Client, srtp: boolean): Buffer {
  const hdr = Buffer.alloc(12);
  hdr[0] = 0x80;
  hdr[1] = PT;
  hdr.writeUInt16BE(c.seq, 2);
  hdr.writeUInt32BE(c.ts, 4);
  hdr.writeUInt32BE(c.ssrc, 8);
  if (!srtp) return Buffer.concat([hdr, payload]);
  // RFC 7714 §8.1: IV = (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt; AAD = the RTP header; 16-byte tag appended.
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(c.ssrc, 2);
  iv.writeUInt32BE(c.roc, 6);
  iv.writeUInt16BE(c.seq, 10);
  for (let i = 0; i < 12; i++) iv[i] ^= c.salt![i];
  const g = crypto.createCipheriv('aes-256-gcm', c.key!, iv);
  g.setAAD(hdr);
  const body = Buffer.concat([g.update(payload), g.final()]);
  return Buffer.concat([hdr, body, g.getAuthTag()]);
}

/** One mode over the given channel steps; stops at the first saturated step. */
export async function runMediasoup(mode: MediasoupMode, steps: number[], measureMs: number): Promise<MediasoupStep[]> {
  const bin = await resolveWorkerBin();
  if (!bin.ok) throw new Error(bin.reason);
  const mediasoup = await import('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'error' });
  const router = await worker.createRouter({ mediaCodecs: ROUTER_CODECS });
  const srtp = mode === 'srtp';
  const maxChannels = Math.max(...steps);
  const clients: Client[] = [];
  for (let i = 0; i < maxChannels * SPEAKERS; i++) {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 64 << 10, sendBufferSize: 1 << 20 });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    stopReceiving(socket);
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: false,
      enableSrtp: srtp,
      srtpCryptoSuite: 'AEAD_AES_256_GCM',
    });
    const c: Client = {
      socket,
      port: socket.address().port,
      transport,
      ssrc: crypto.randomInt(1, 2 ** 32 - 1),
      seq: crypto.randomInt(0, 65536),
      ts: crypto.randomInt(0, 2 ** 32),
      roc: 0,
      due: 0,
    };
    let srtpParameters: ms.SrtpParameters | undefined;
    if (srtp) {
      const master = crypto.randomBytes(44);
      srtpParameters = { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: master.toString('base64') };
      c.key = srtpKdf(master.subarray(0, 32), master.subarray(32), 0x00, 32);
      c.salt = srtpKdf(master.subarray(0, 32), master.subarray(32), 0x02, 12);
    }
    await transport.connect({ ip: '127.0.0.1', port: c.port, srtpParameters });
    clients.push(c);
  }
  const producers: ms.Producer[] = [];
  for (const c of clients) {
    producers.push(
      await c.transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: PT }],
          encodings: [{ ssrc: c.ssrc }],
        },
      }),
    );
  }
  for (let ch = 0; ch < maxChannels; ch++) {
    for (let j = 0; j < SPEAKERS; j++) {
      for (let k = 0; k < SPEAKERS; k++) {
        if (j === k) continue;
        await clients[ch * SPEAKERS + j].transport.consume({
          producerId: producers[ch * SPEAKERS + k].id,
          rtpCapabilities: CONSUMER_CAPABILITIES,
        });
      }
    }
  }

  let active = 0;
  let sent = 0;
  let skipped = 0;
  let measuring = false;
  const pump = () => {
    const now = performance.now();
    for (let i = 0; i < active; i++) {
      const c = clients[i];
      if (now - c.due > 100) {
        skipped++;
        c.due = now;
      }
      while (c.due <= now) {
        c.socket.send(packet(c, srtp), c.transport.tuple.localPort, '127.0.0.1');
        c.seq = (c.seq + 1) & 0xffff;
        if (c.seq === 0) c.roc = (c.roc + 1) >>> 0;
        c.ts = (c.ts + 960) >>> 0;
        c.due += PERIOD_MS;
        if (measuring) sent++;
      }
    }
  };
  // CPU and time are read as the stats request goes out, so both ends of a window cover the same span.
  const sample = async () => {
    const at = performance.now();
    const cpu = cpuSeconds(worker.pid);
    const stats = await Promise.all(clients.slice(0, active).map((c) => c.transport.getStats()));
    const bytes = stats.reduce((s, st) => s + Number(st[0]?.rtpBytesSent ?? 0), 0);
    return { packets: bytes / COUNTED_BYTES, cpu, at };
  };

  const timer = setInterval(pump, 1);
  const results: MediasoupStep[] = [];
  const system = `mediasoup ${srtp ? 'SRTP AEAD_AES_256_GCM' : 'plain RTP'}`;
  for (const channels of steps) {
    const start = performance.now();
    for (let i = active; i < channels * SPEAKERS; i++) clients[i].due = start + Math.random() * PERIOD_MS;
    active = channels * SPEAKERS;
    await sleep(WARMUP_MS);
    sent = skipped = 0;
    measuring = true;
    const a = await sample();
    await sleep(measureMs);
    measuring = false;
    const b = await sample();
    const seconds = (b.at - a.at) / 1000;
    const forwarded = (b.packets - a.packets) / seconds;
    const offered = (sent * FANOUT) / seconds;
    const cpu = (b.cpu - a.cpu) / seconds;
    const r: MediasoupStep = {
      channels,
      offered: Math.round(offered),
      forwarded: Math.round(forwarded),
      cpu: round(cpu, 3),
      perCore: Math.round(forwarded / Math.max(cpu, 1e-6)),
      skippedSends: skipped,
      saturated: cpu > 0.9 || forwarded < 0.95 * offered,
    };
    results.push(r);
    emit({ bench: 'sfu', figure: 'step', system, mode, ...r });
    if (r.saturated) break;
  }
  clearInterval(timer);
  worker.close();
  for (const c of clients) c.socket.close();
  return results;
}

/** Capacity of one core: the best forwarded/s per CPU-second among steps where the process was mostly busy. */
function capacity(rs: MediasoupStep[]): number {
  const busy = rs.filter((r) => r.cpu >= 0.5);
  return Math.max(...(busy.length > 0 ? busy : rs).map((r) => r.perCore));
}

/**
 * Runs both mediasoup modes after the native systems and prints their summaries plus the figure issue 14 judges the
 * SFU by: native AES-GCM forwarded/s per core ÷ mediasoup SRTP AEAD_AES_256_GCM's. Returns README table rows
 * [system, per core, × relay, peak (channels)]; none (and one `skipped` line) without a worker binary.
 */
export async function mediasoupCells(
  steps: number[],
  measureMs: number,
  nativeGcmPerCore: number,
  relayPerCore: number,
): Promise<string[][]> {
  const bin = await resolveWorkerBin();
  if (!bin.ok) {
    emit({ bench: 'sfu', figure: 'skipped', system: 'mediasoup', reason: bin.reason });
    return [];
  }
  const rows: string[][] = [];
  let srtpCap = 0;
  for (const mode of ['plain', 'srtp'] as const) {
    const rs = await runMediasoup(mode, steps, measureMs);
    const cap = capacity(rs);
    if (mode === 'srtp') srtpCap = cap;
    const peak = rs.reduce((m, r) => (r.forwarded > m.forwarded ? r : m), rs[0]);
    const system = `mediasoup ${bin.version}, ${mode === 'srtp' ? 'SRTP AEAD_AES_256_GCM' : 'plain RTP'} PlainTransports`;
    emit({
      bench: 'sfu',
      figure: 'summary',
      system,
      forwarded_per_core: cap,
      peak_forwarded_per_sec: peak.forwarded,
      peak_channels: peak.channels,
      baseline: 'bare Node UDP relay, same run',
      baseline_forwarded_per_core: relayPerCore,
      ratio: round(cap / relayPerCore, 2),
    });
    rows.push([
      system,
      cap.toLocaleString('en'),
      String(round(cap / relayPerCore, 2)),
      `${peak.forwarded.toLocaleString('en')} (${peak.channels})`,
    ]);
  }
  emit({
    bench: 'sfu',
    figure: 'native_vs_mediasoup_srtp',
    native_aes_gcm_per_core: nativeGcmPerCore,
    mediasoup_srtp_per_core: srtpCap,
    baseline: 'mediasoup SRTP AEAD_AES_256_GCM, same run',
    ratio: round(nativeGcmPerCore / srtpCap, 3),
  });
  return rows;
}
