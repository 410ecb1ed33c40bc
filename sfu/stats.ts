import { Counter, Gauge, type Registry } from 'prom-client';
import type { DatagramIo } from './udp/datagram-io.ts';

/** Why the SFU dropped a datagram; each reason is a label of `resound_sfu_dropped_total`. */
export type DropReason =
  | 'malformed'
  | 'unknown_ssrc'
  | 'ssrc_spoof'
  | 'decrypt_failed'
  | 'replay'
  | 'not_opus'
  | 'server_muted'
  | 'no_transport_key'
  | 'e2ee_gate'
  | 'late'
  | 'rate_limited'
  | 'foreign_address'
  | 'discovery_unbound'
  | 'send_failed';

type DatagramKind = 'rtp' | 'keepalive' | 'ip_discovery' | 'other';

/**
 * The SFU's Prometheus metrics. The packet path only bumps plain numbers in `counts`; they are copied into the
 * prom-client series when /metrics is scraped, so forwarding never pays for label hashing.
 */
/** A counter whose value is read from a plain number at scrape time (the hot path only bumps the number). */
function readCounter(registers: Registry[], name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export class SfuMetrics {
  readonly counts = {
    datagrams: { rtp: 0, keepalive: 0, ip_discovery: 0, other: 0 } as Record<DatagramKind, number>,
    dropped: {} as Partial<Record<DropReason, number>>,
    forwarded: 0,
    forwardedPayloadBytes: 0,
    silenceSynthesized: 0,
    remotesExpired: 0,
  };
  readonly participants: Gauge;
  readonly routers: Gauge;
  readonly streamPackets: Gauge<'ssrc' | 'user'>;
  readonly streamBytes: Gauge<'ssrc' | 'user'>;
  readonly streamLost: Gauge<'ssrc' | 'user'>;
  readonly streamReordered: Gauge<'ssrc' | 'user'>;
  readonly streamJitter: Gauge<'ssrc' | 'user'>;
  readonly streamDecryptFailures: Gauge<'ssrc' | 'user'>;

  /** `beforeScrape` runs when /metrics is scraped, so per-stream figures are published then, not per packet. */
  constructor(
    private readonly registry: Registry,
    beforeScrape: () => void = () => {},
  ) {
    const r = [registry];
    const c = this.counts;
    new Counter({
      name: 'resound_sfu_datagrams_in_total',
      help: 'UDP datagrams received by kind',
      labelNames: ['kind'],
      registers: r,
      collect() {
        this.reset();
        for (const [kind, v] of Object.entries(c.datagrams)) this.inc({ kind }, v);
      },
    });
    new Counter({
      name: 'resound_sfu_dropped_total',
      help: 'Datagrams or packets dropped, by reason',
      labelNames: ['reason'],
      registers: r,
      collect() {
        this.reset();
        for (const [reason, v] of Object.entries(c.dropped)) this.inc({ reason }, v);
      },
    });
    const scalar = (name: string, help: string, read: () => number) => readCounter(r, name, help, read);
    scalar('resound_sfu_packets_forwarded_total', 'RTP packets sent to receivers', () => c.forwarded);
    scalar(
      'resound_sfu_remotes_expired_total',
      'Client UDP addresses the SFU stopped sending to because nothing came from them for SFU_REMOTE_IDLE_MS',
      () => c.remotesExpired,
    );
    scalar(
      'resound_sfu_payload_bytes_forwarded_total',
      'Opus payload bytes sent to receivers',
      () => c.forwardedPayloadBytes,
    );
    scalar(
      'resound_sfu_silence_frames_synthesized_total',
      'Opus silence frames the SFU inserted for vanished speakers',
      () => c.silenceSynthesized,
    );
    this.participants = new Gauge({
      name: 'resound_sfu_participants',
      help: 'Participants with a media transport',
      registers: r,
    });
    this.routers = new Gauge({ name: 'resound_sfu_routers', help: 'Channels with a router', registers: r });
    const stream = (name: string, help: string, collect?: () => void) =>
      // Labelled by SSRC only: user ids in label values would publish who is in which call to every scraper.
      new Gauge<'ssrc'>({
        name: `resound_sfu_stream_${name}`,
        help,
        labelNames: ['ssrc'],
        registers: r,
        collect,
      });
    this.streamPackets = stream('packets', 'Packets received on an inbound stream', beforeScrape);
    this.streamBytes = stream('bytes', 'Payload bytes received on an inbound stream');
    this.streamLost = stream('lost', 'Packets lost on an inbound stream (RFC 3550 cumulative loss)');
    this.streamReordered = stream('reordered', 'Packets that arrived after a later sequence number');
    this.streamJitter = stream('jitter_ms', 'RFC 3550 interarrival jitter in milliseconds');
    this.streamDecryptFailures = stream('decrypt_failures', 'Packets that failed transport authentication');
  }

  /** Which I/O path runs (`resound_sfu_io{path}` = 1), its kernel receive-queue overflows and its call counts. */
  registerIo(io: DatagramIo): void {
    const r = [this.registry];
    new Gauge({ name: 'resound_sfu_io', help: 'Datagram I/O path in use (1)', labelNames: ['path'], registers: r }).set(
      { path: io.path },
      1,
    );
    const scalar = (name: string, help: string, read: () => number) => readCounter(r, name, help, read);
    scalar(
      'resound_sfu_udp_receive_queue_overflow_total',
      "Datagrams the kernel dropped because the SFU socket's receive queue was full (SO_RXQ_OVFL / socket drops)",
      () => io.receiveQueueOverflows(),
    );
    scalar(
      'resound_sfu_io_receive_calls_total',
      'Receive wake-ups (a batch, or one datagram on dgram)',
      () => io.stats.receiveCalls,
    );
    scalar(
      'resound_sfu_io_send_calls_total',
      'Send system calls (one sendmmsg per batch, or one per copy on dgram)',
      () => io.stats.sendCalls,
    );
  }

  drop(reason: DropReason): void {
    this.counts.dropped[reason] = (this.counts.dropped[reason] ?? 0) + 1;
  }
}

/** Receive statistics of one inbound RTP stream, as RFC 3550 §6.4.1 / A.3 / A.8 define them. */
export class StreamStats {
  packets = 0;
  bytes = 0;
  reordered = 0;
  decryptFailures = 0;
  /** Interarrival jitter in timestamp units (1/48000 s). */
  jitter = 0;
  private baseSeq = -1;
  private maxSeq = 0;
  private cycles = 0;
  private lastTransit = 0;
  private hasTransit = false;

  onPacket(seq: number, timestamp: number, bytes: number, arrivalMs: number): void {
    this.packets++;
    this.bytes += bytes;
    if (this.baseSeq < 0) {
      this.baseSeq = seq;
      this.maxSeq = seq;
    } else {
      const delta = (seq - this.maxSeq) & 0xffff;
      if (delta !== 0 && delta < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      } else if (delta !== 0) {
        this.reordered++;
      }
    }
    const transit = arrivalMs * 48 - timestamp;
    if (this.hasTransit) {
      let d = transit - this.lastTransit;
      // Timestamps wrap at 2^32; a transit difference that large is a wrap, not jitter.
      if (d > 0x80000000) d -= 0x100000000;
      else if (d < -0x80000000) d += 0x100000000;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.hasTransit = true;
  }

  /** Cumulative packets lost: expected (extended highest − base + 1) minus received, never negative. */
  get lost(): number {
    if (this.baseSeq < 0) return 0;
    const expected = this.cycles + this.maxSeq - this.baseSeq + 1;
    return Math.max(0, expected - this.packets);
  }

  get jitterMs(): number {
    return this.jitter / 48;
  }
}
