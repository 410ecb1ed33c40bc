/**
 * A real Sfu on either datagram I/O path with raw UDP clients around it (no signaling): what the I/O equivalence and
 * batch edge-case tests drive. Clients seal AES-GCM rtpsize packets themselves and record every datagram they get.
 */
import dgram, { type Socket } from 'node:dgram';
import pino from 'pino';
import {
  createTransportCipher,
  Sfu,
  writeIpDiscoveryRequest,
  writeRtpHeader,
  type IoPath,
  type Router,
  type TransportCipher,
  type UdpTransport,
} from '../../sfu/index.ts';
import { waitFor } from '../../testkit/index.ts';

export const MODE = 'aead_aes256_gcm_rtpsize';

export interface Peer {
  socket: Socket;
  port: number;
  received: Buffer[];
  key: Uint8Array;
  cipher: TransportCipher;
  nonce: number;
}

export async function peers(n: number): Promise<Peer[]> {
  const out: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const key = Uint8Array.from({ length: 32 }, (_, k) => (i * 31 + k * 7 + 1) & 0xff);
    const p: Peer = {
      socket,
      port: socket.address().port,
      received: [],
      key,
      cipher: createTransportCipher(MODE, key),
      nonce: 0,
    };
    socket.on('message', (m) => p.received.push(m));
    out.push(p);
  }
  return out;
}

/** A deterministic SSRC sequence, so two SFUs fed the same input give the same SSRCs. */
export function ssrcSequence(seed: number): () => number {
  let v = seed;
  return () => (v = (Math.imul(v, 1103515245) + 12345) >>> 0) || 1;
}

export async function startSfu(io: IoPath, extra: { silenceGapMs?: number; seed?: number } = {}): Promise<Sfu> {
  return Sfu.create({
    bindAddress: '127.0.0.1',
    port: 0,
    publicIp: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    io,
    silence: 'gap',
    silenceGapMs: extra.silenceGapMs ?? 3_600_000,
    maxPacketsPerSecond: 100_000,
    ssrcSource: ssrcSequence(extra.seed ?? 7),
  });
}

/** Puts each peer on a transport of `router` with its key; returns the transports in peer order. */
export function join(router: Router, ps: Peer[], firstUser: number): UdpTransport[] {
  return ps.map((p, i) => {
    const t = router.createTransport();
    t.setKey(MODE, p.key);
    router.addParticipant(String(firstUser + i), t);
    return t;
  });
}

export function discovery(ssrc: number): Buffer {
  const b = Buffer.alloc(74);
  writeIpDiscoveryRequest(b, ssrc);
  return b;
}

/** One sealed Opus packet from `p` as SSRC `ssrc`. */
export function rtp(p: Peer, ssrc: number, seq: number, ts: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(12 + payload.length + 32);
  writeRtpHeader(b, 120, false, seq & 0xffff, ts >>> 0, ssrc, false);
  p.nonce++;
  const n = p.cipher.seal(b, 12, payload, payload.length, p.nonce);
  return b.subarray(0, n);
}

/** Sends every datagram in one synchronous run, so a same-process SFU finds them all queued at its next poll. */
export function burst(items: [Peer, Buffer][], sfu: Sfu): void {
  for (const [p, b] of items) p.socket.send(b, sfu.port, '127.0.0.1');
}

/** Metric value (first series matching `labels`). */
export async function metric(sfu: Sfu, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await sfu.registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

export function datagramsIn(sfu: Sfu): number {
  const d = sfu.metrics.counts.datagrams;
  return d.rtp + d.keepalive + d.ip_discovery + d.other;
}

/** Waits until the SFU has handled `n` datagrams in all. */
export async function handled(sfu: Sfu, n: number): Promise<void> {
  await waitFor(() => datagramsIn(sfu) >= n, 10_000, `${n} datagrams handled`);
}

export function closePeers(ps: Peer[]): void {
  for (const p of ps) {
    p.cipher.close();
    p.socket.close();
  }
}
