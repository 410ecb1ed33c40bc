import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { EventEmitter } from 'node:events';
import { parseEnv } from '../common/config.ts';
import { RateLimitedLog } from '../common/logger.ts';
import { Router, inboundFrame, type InboundFrame, type UdpTransportFactory } from './router.ts';
import type { SilenceSynthesis } from './rtp/silence.ts';
import {
  createRtpHeader,
  looksLikeRtp,
  ONE_BYTE_EXTENSION_PROFILE,
  OPUS_PAYLOAD_TYPE,
  parseRtpHeader,
  RTP_FIXED_HEADER,
} from './rtp/rtp-header.ts';
import { SfuMetrics, type DropReason } from './stats.ts';
import {
  ipDiscoverySsrc,
  isIpDiscoveryRequest,
  IP_DISCOVERY_LENGTH,
  KEEPALIVE_LENGTH,
  writeIpDiscoveryResponse,
} from './udp/ip-discovery.ts';
import { ioShape, MAX_DATAGRAM_BYTES, type DatagramIo, type IoChoice } from './udp/datagram-io.ts';
import { openDatagramIo } from './udp/open-io.ts';
import { UdpTransport, type UdpTransportHooks } from './udp/udp-transport.ts';
import type { MediaPlane } from './media-plane.ts';

export interface SfuOptions {
  /** Interface the UDP socket binds to. */
  bindAddress: string;
  /** UDP port; 0 picks an ephemeral one. */
  port: number;
  /** IPv4 address clients are told to send to (Ready.ip). */
  publicIp: string;
  logger: Logger;
  /** When abandoned talk spurts get a synthesized silence tail (default 'gap'). */
  silence?: SilenceSynthesis;
  /** A speaker silent this long without a silence tail gets one synthesized ('gap' and 'vanish' modes). */
  silenceGapMs?: number;
  /** Packets per second one sender may push (Opus sends 50); bursts up to one second's worth. Beyond: dropped. */
  maxPacketsPerSecond?: number;
  /** A client address nothing (media, keepalive, IP discovery) came from for this long is no longer sent to. */
  remoteIdleMs?: number;
  registry?: Registry;
  /** Datagram I/O path (default: SFU_IO from the environment, itself `auto`). */
  io?: IoChoice;
  /** Where new SSRCs come from (default: random). Replays that compare two SFUs byte for byte give both the same. */
  ssrcSource?: () => number;
}

export interface SfuObserverEvents {
  newrouter: [Router];
  close: [];
}

/**
 * The media plane of one voice server (mediasoup's "worker"): one UDP socket, the routers (one per channel), and the
 * SSRC table that demultiplexes datagrams to transports. The table holds transports only: which router and
 * participant a transport serves is the transport's own business (`transport.participant`, `participant.router`).
 */
export class Sfu implements UdpTransportFactory, MediaPlane {
  readonly metrics: SfuMetrics;
  readonly registry: Registry;
  readonly observer = new EventEmitter<SfuObserverEvents>();
  private readonly routers = new Map<string, Router>();
  private readonly bySsrc = new Map<number, UdpTransport>();
  /** Bound client address → transport, so keepalives (which carry no SSRC) keep their binding alive. */
  private readonly byRemote = new Map<string, UdpTransport>();
  private readonly scratch = new Uint8Array(2048);
  private readonly header = createRtpHeader();
  private readonly inbound: InboundFrame = inboundFrame(this.scratch);
  private readonly badLog: RateLimitedLog;
  private readonly maxPps: number;
  private readonly ticker: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private readonly remoteIdleMs: number;
  private closed = false;
  private readonly transportHooks: UdpTransportHooks = {
    release: (t) => {
      this.bySsrc.delete(t.ssrc);
      this.unbind(t);
    },
    sendFailed: (t, code) => {
      this.metrics.counts.forwarded--;
      this.metrics.drop('send_failed');
      this.badLog.warn(`send_failed:${code}`, { reason: 'send_failed', code, ssrc: t.ssrc }, 'udp send failed');
    },
  };

  private constructor(
    private readonly io: DatagramIo,
    readonly publicIp: string,
    private readonly opts: SfuOptions,
  ) {
    this.registry = opts.registry ?? new Registry();
    this.metrics = new SfuMetrics(this.registry, () => {
      for (const r of this.routers.values()) r.publishStats();
    });
    this.metrics.registerIo(io);
    this.badLog = new RateLimitedLog(opts.logger);
    this.maxPps = opts.maxPacketsPerSecond ?? 200;
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const r of this.routers.values()) r.tick(now);
    }, 20);
    this.ticker.unref();
    this.remoteIdleMs = opts.remoteIdleMs ?? 30_000;
    this.sweeper = setInterval(
      () => this.expireQuietRemotes(Date.now()),
      Math.min(1000, Math.max(25, this.remoteIdleMs / 4)),
    );
    this.sweeper.unref();
  }

  static async create(opts: SfuOptions): Promise<Sfu> {
    const choice = opts.io ?? parseEnv(ioShape).SFU_IO;
    // Datagrams reach the SFU only from libuv callbacks, which cannot run before `sfu` is assigned below.
    let sfu: Sfu | null = null;
    const { io, fallbackReason } = await openDatagramIo(
      choice,
      opts.bindAddress,
      opts.port,
      { datagram: (buf, len, address, port) => sfu?.onDatagram(buf, len, address, port) },
      (err) => opts.logger.error({ err }, 'udp socket error'),
    );
    sfu = new Sfu(io, opts.publicIp, opts);
    opts.logger.info(
      { io: io.path, requested: choice, fallback: fallbackReason, port: io.port },
      `sfu datagram io: ${io.path}`,
    );
    return sfu;
  }

  /** The UDP port clients send to (Ready.port). */
  get port(): number {
    return this.io.port;
  }

  /** Which datagram I/O path this SFU runs on. */
  get ioPath(): DatagramIo['path'] {
    return this.io.path;
  }

  /** A new router (one per voice channel); its owner closes it, which closes everything in it. */
  createRouter(id: string): Router {
    if (this.closed) throw new Error('sfu is closed');
    if (this.routers.has(id)) throw new Error(`router ${id} exists`);
    const r = new Router(
      id,
      this.metrics,
      this.opts.logger,
      { silence: this.opts.silence, silenceGapMs: this.opts.silenceGapMs },
      this,
    );
    this.routers.set(id, r);
    this.metrics.routers.inc();
    r.once('@close', () => {
      this.routers.delete(id);
      this.metrics.routers.dec();
    });
    this.observer.emit('newrouter', r);
    return r;
  }

  /** MediaPlane: one process, one worker: every channel is a router here. */
  createChannel(id: string): Router {
    return this.createRouter(id);
  }

  /** For routers (`router.createTransport()`): a transport with a fresh (or the given) SSRC, reachable at once. */
  createUdpTransport(wanted?: number): UdpTransport {
    let ssrc: number;
    if (wanted !== undefined) {
      // A worker's SSRCs are chosen by the signaling process, which keeps the worker's table.
      if (this.bySsrc.has(wanted)) throw new Error(`ssrc ${wanted} is taken`);
      ssrc = wanted;
    } else {
      const next = this.opts.ssrcSource ?? (() => randomInt(1, 0xffffffff));
      do ssrc = next();
      while (this.bySsrc.has(ssrc));
    }
    const transport = new UdpTransport(ssrc, this.io, this.transportHooks);
    transport.tokens = this.maxPps;
    this.bySsrc.set(ssrc, transport);
    return transport;
  }

  /** Entries in the SSRC table (leak accounting). */
  get transportCount(): number {
    return this.bySsrc.size;
  }

  /** Client addresses media is sent to (leak accounting). */
  get boundRemoteCount(): number {
    return this.byRemote.size;
  }

  /** Where the transport's media goes from now on (IP discovery, or an authenticated packet from a new address). */
  private bind(t: UdpTransport, address: string, port: number, now: number): void {
    this.unbind(t);
    t.remote = { address, port };
    t.heardAt = now;
    this.byRemote.set(`${address}:${port}`, t);
  }

  private unbind(t: UdpTransport): void {
    if (!t.remote) return;
    const key = `${t.remote.address}:${t.remote.port}`;
    if (this.byRemote.get(key) === t) this.byRemote.delete(key);
    t.remote = null;
  }

  /** Stops sending to addresses that went quiet: a client that left without a word, or a reflection victim. */
  private expireQuietRemotes(now: number): void {
    for (const t of this.bySsrc.values()) {
      if (t.remote && now - t.heardAt > this.remoteIdleMs) {
        this.unbind(t);
        this.metrics.counts.remotesExpired++;
      }
    }
  }

  /** The datagram path: classify, authenticate, hand to the router. Everything that fails is counted and dropped. */
  private onDatagram(msg: Uint8Array, len: number, address: string, port: number): void {
    if (len === KEEPALIVE_LENGTH) {
      this.metrics.counts.datagrams.keepalive++;
      const t = this.byRemote.get(`${address}:${port}`);
      if (t) t.heardAt = Date.now();
      return;
    }
    if (len === IP_DISCOVERY_LENGTH && isIpDiscoveryRequest(msg, len)) {
      this.metrics.counts.datagrams.ip_discovery++;
      return this.answerDiscovery(msg, address, port);
    }
    // Longer than any voice packet (and than a batched receive slot): refused the same way on both I/O paths.
    if (len > MAX_DATAGRAM_BYTES || !looksLikeRtp(msg, len) || !parseRtpHeader(msg, len, this.header)) {
      this.metrics.counts.datagrams.other++;
      return this.drop('malformed', address, port);
    }
    this.metrics.counts.datagrams.rtp++;
    const h = this.header;
    if (h.payloadType !== OPUS_PAYLOAD_TYPE) return this.drop('not_opus', address, port);
    const t = this.bySsrc.get(h.ssrc);
    const participant = t?.participant;
    if (!t || !participant) return this.drop('unknown_ssrc', address, port);
    const fromBound = t.remote !== null && t.remote.port === port && t.remote.address === address;
    const result = t.open(msg, len, this.scratch);
    if (result !== 'ok') {
      if (result !== 'decrypt_failed') return this.drop(result, address, port);
      if (!fromBound) return this.drop('ssrc_spoof', address, port);
      participant.stats.decryptFailures++;
      return this.drop('decrypt_failed', address, port);
    }
    const now = Date.now();
    if (fromBound) {
      t.heardAt = now;
    } else {
      // Only the key holder can authenticate (and a replay was refused above), so an authenticated datagram from a
      // new address is a NAT rebinding — from the WebSocket peer's own IP, or a third party is being aimed at.
      if (t.peerIp !== null && address !== t.peerIp) return this.drop('foreign_address', address, port);
      this.bind(t, address, port, now);
    }
    // Policed after authentication, so nobody can spend another sender's budget with forged packets.
    t.tokens = Math.min(this.maxPps, t.tokens + ((now - t.refilledAt) * this.maxPps) / 1000);
    t.refilledAt = now;
    if (t.tokens < 1) return this.drop('rate_limited', address, port);
    t.tokens -= 1;
    if (!this.describePlaintext(t, t.lastPlaintextLength)) return this.drop('malformed', address, port);
    participant.router.forward(participant, this.inbound, now);
  }

  /** Locates the extension body and Opus payload inside the decrypted plaintext, whatever the mode. */
  private describePlaintext(t: UdpTransport, n: number): boolean {
    const h = this.header;
    const f = this.inbound;
    const plain = this.scratch;
    let pos = 0;
    let words = 0;
    let profile = 0;
    if (t.lastHeaderLength === RTP_FIXED_HEADER) {
      // Legacy modes encrypt CSRCs and the extension preamble along with the payload.
      pos = 4 * h.csrcCount;
      if (h.extension) {
        if (n < pos + 4) return false;
        profile = (plain[pos] << 8) | plain[pos + 1];
        words = (plain[pos + 2] << 8) | plain[pos + 3];
        pos += 4;
      }
    } else if (h.extension) {
      profile = h.extensionProfile;
      words = h.extensionWords;
    }
    let end = n;
    if (h.padding) {
      const pad = plain[n - 1];
      if (pad === 0 || pad > n) return false;
      end -= pad;
    }
    const bodyStart = pos;
    const payloadOffset = pos + words * 4;
    if (payloadOffset > end) return false;
    const keep = words > 0 && profile === ONE_BYTE_EXTENSION_PROFILE;
    f.sequence = h.sequence;
    f.timestamp = h.timestamp;
    f.marker = h.marker;
    f.extensionWords = keep ? words : 0;
    f.offset = keep ? bodyStart : payloadOffset;
    f.payloadOffset = payloadOffset;
    f.payloadLength = end - payloadOffset;
    return true;
  }

  private answerDiscovery(msg: Uint8Array, address: string, port: number): void {
    const t = this.bySsrc.get(ipDiscoverySsrc(msg));
    if (!t) return this.drop('unknown_ssrc', address, port);
    const now = Date.now();
    if (t.remote) {
      // Answered only from the bound address: anyone else would turn the server into a reflector.
      if (t.remote.address !== address || t.remote.port !== port) return this.drop('discovery_unbound', address, port);
      t.heardAt = now;
    } else {
      if (t.peerIp !== null && address !== t.peerIp) return this.drop('foreign_address', address, port);
      // Tentative until the first authenticated packet; lets the server reach a receive-only client.
      this.bind(t, address, port, now);
    }
    const out = this.io.sendBuffer();
    writeIpDiscoveryResponse(out, t.ssrc, address, port);
    this.io.send(out, IP_DISCOVERY_LENGTH, t.remote!, null);
  }

  private drop(reason: DropReason, address: string, port: number): void {
    this.metrics.drop(reason);
    this.badLog.warn(`${reason}:${address}`, { reason, from: `${address}:${port}` }, 'dropped udp datagram');
  }

  get routerCount(): number {
    return this.routers.size;
  }

  /** Closes every router (each hears `workerclose`, then cascades to its transports and participants). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    clearInterval(this.sweeper);
    for (const r of [...this.routers.values()]) r.workerClosed();
    // Transports never joined to a router cannot exist (routers make them), so the table is empty now.
    this.observer.emit('close');
    this.observer.removeAllListeners();
    await this.io.close();
  }
}
