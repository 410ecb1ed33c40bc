import type { Logger } from 'pino';
import type { BrowserPeer, ConsumerInfo, WebRtcChannel, WebRtcEngine } from '../../sfu/index.ts';
import type { VoiceChannel } from '../channel.ts';
import type { GatewayConnection } from '../connection.ts';
import type { SignalingMetrics } from '../metrics.ts';
import { Close, Op } from '../opcodes.ts';
import type { VoiceSession } from '../session.ts';
import { BROWSER_OPUS, describeBrowser } from './description.ts';
import { WebRtcConnectSchema, WebRtcProduceSchema, WebRtcSelectSchema } from './schemas.ts';
import { WebRtcOp, type WebRtcDescription, type WebRtcStreamData } from './wire.ts';

export type Reject = (conn: GatewayConnection, reason: string, code: number, message: string) => void;

export interface BrowserVoiceOptions {
  engine: WebRtcEngine;
  metrics: SignalingMetrics;
  logger: Logger;
  /** Live browser transports one client IP may hold; beyond it op 1 closes with 4021. */
  maxPerIp: number;
  reject: Reject;
}

/** One browser session's media state. */
interface BrowserLink {
  peer: BrowserPeer;
  desc: WebRtcDescription;
  ip: string;
  connected: boolean;
  producing: boolean;
}

function firstIssue(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  const i = err.issues[0];
  return i ? `${i.path.map(String).join('.') || 'payload'}: ${i.message}` : 'invalid';
}

/**
 * The browser side of the voice gateway: op 1 `protocol: "webrtc"` gets the session a mediasoup transport (through
 * the media engine) and answers with the compact op 4; ops 40/41 complete DTLS and start the microphone; op 12 tells
 * the browser each other user's stream. Everything else (ops 0, 3, 5, 11, 13, resume rules) is the native path's.
 */
export class BrowserVoice {
  private readonly links = new Map<VoiceSession, BrowserLink>();
  private readonly pending = new Set<VoiceSession>();
  private readonly perIp = new Map<string, number>();
  private readonly hooked = new WeakSet<WebRtcChannel>();

  constructor(private readonly opts: BrowserVoiceOptions) {}

  /** Whether this op 1 payload selects WebRTC (then `select` owns it). */
  static selects(raw: unknown): boolean {
    return typeof raw === 'object' && raw !== null && (raw as { protocol?: unknown }).protocol === 'webrtc';
  }

  /** Op 1 with protocol "webrtc" from an identified session admitted to `channel`. */
  select(conn: GatewayConnection, session: VoiceSession, channel: VoiceChannel, raw: unknown): void {
    {
      const { reject } = this.opts;
      if (this.pending.has(session) || this.links.has(session))
        return reject(conn, 'select_twice', Close.BadRequest, 'protocol already selected');
      const parsed = WebRtcSelectSchema.safeParse(raw);
      if (!parsed.success)
        return reject(conn, 'bad_select', Close.DecodeError, `invalid Select Protocol: ${firstIssue(parsed.error)}`);
      if (parsed.data.data.channel_id !== session.channelId)
        return reject(
          conn,
          'webrtc_foreign_channel',
          Close.BadRequest,
          `this session is in channel ${session.channelId}, not ${parsed.data.data.channel_id}`,
        );
      if ((this.perIp.get(conn.peerIp) ?? 0) >= this.opts.maxPerIp)
        return reject(
          conn,
          'webrtc_transport_flood',
          Close.RateLimited,
          `at most ${this.opts.maxPerIp} browser voice transports per address`,
        );
      this.pending.add(session);
      this.take(conn.peerIp, 1);
      void this.open(conn, session, channel).catch((err: Error) => {
        this.opts.logger.warn({ err: err.message, user: session.userId }, 'browser voice set-up failed');
        if (!this.links.has(session)) this.take(conn.peerIp, -1);
        this.pending.delete(session);
        reject(conn, 'webrtc_setup_failed', Close.VoiceServerCrashed, `browser voice set-up failed: ${err.message}`);
      });
    }
  }

  private async open(conn: GatewayConnection, session: VoiceSession, channel: VoiceChannel): Promise<void> {
    const { engine, reject, metrics } = this.opts;
    const status = await engine.start();
    if (!status.available) {
      this.pending.delete(session);
      this.take(conn.peerIp, -1);
      return reject(conn, 'webrtc_unavailable', Close.UnknownProtocol, `browser voice unavailable: ${status.reason}`);
    }
    const native = await channel.router.browserRouter();
    const wch = await engine.channel(channel.key, native);
    this.hookSpeaking(wch, channel);
    const peer = await wch.addBrowser(session.userId, session.ssrc);
    this.pending.delete(session);
    if (session.ended || channel.closed || !conn.open) {
      peer.close();
      this.take(conn.peerIp, -1);
      return;
    }
    let desc: WebRtcDescription;
    try {
      desc = describeBrowser(
        { iceParameters: peer.local.ice, iceCandidates: peer.local.candidates, dtlsParameters: peer.local },
        { ssrc: session.ssrc, mediaSessionId: session.id },
      );
    } catch (err) {
      peer.close();
      throw err;
    }
    const link: BrowserLink = { peer, desc, ip: conn.peerIp, connected: false, producing: false };
    this.links.set(session, link);
    metrics.webrtcSessions.inc();
    session.once('ended', () => this.drop(session));
    peer.on('consumer', (c) => this.announce(session, c));
    peer.on('consumerclose', (c) => session.send(WebRtcOp.Stream, stream(c.userId, 0)));
    peer.on('dtlsstate', (state) => {
      if (state === 'failed' && session.conn)
        reject(session.conn, 'webrtc_dtls_failed', Close.AuthenticationFailed, 'DTLS failed: fingerprint mismatch?');
    });
    peer.on('rejoin', (why) => {
      session.conn?.close(Close.SessionNoLongerValid, `browser voice moved (${why}); join again`);
      session.end(Close.SessionNoLongerValid);
    });
    const since = session.state.kind === 'identified' ? session.state.identifiedAt : Date.now();
    session.daveVersion = 0;
    session.state = { kind: 'connected', mode: 'webrtc', connectedAt: Date.now() };
    session.send(Op.SessionDescription, desc);
    metrics.identifyToReady.observe((Date.now() - since) / 1000);
    channel.join(session);
    for (const c of peer.consumers) this.announce(session, c);
  }

  /** Ops 40 and 41 from a browser session; false for any other op (the caller's to handle). */
  message(conn: GatewayConnection, session: VoiceSession, op: number, d: unknown): boolean {
    if (op !== WebRtcOp.Connect && op !== WebRtcOp.Produce) return false;
    const { reject } = this.opts;
    const link = this.links.get(session);
    if (!link) {
      reject(conn, 'webrtc_early', Close.BadRequest, `op ${op} before a webrtc Session Description`);
      return true;
    }
    if (op === WebRtcOp.Connect) this.connect(conn, link, d);
    else this.produce(conn, link, d);
    return true;
  }

  private connect(conn: GatewayConnection, link: BrowserLink, d: unknown): void {
    const { reject } = this.opts;
    if (link.connected) return reject(conn, 'webrtc_connect_twice', Close.BadRequest, 'DTLS parameters already set');
    const parsed = WebRtcConnectSchema.safeParse(d);
    if (!parsed.success)
      return reject(conn, 'webrtc_bad_dtls', Close.DecodeError, `bogus DTLS parameters: ${firstIssue(parsed.error)}`);
    link.connected = true;
    const { role, fingerprint } = parsed.data;
    link.peer
      .connect({ role, fingerprints: [{ algorithm: fingerprint.algorithm.toLowerCase(), value: fingerprint.value }] })
      .catch((err: Error) =>
        reject(conn, 'webrtc_bad_dtls', Close.BadRequest, `DTLS parameters refused: ${err.message}`),
      );
  }

  private produce(conn: GatewayConnection, link: BrowserLink, d: unknown): void {
    const { reject } = this.opts;
    if (link.producing) return reject(conn, 'webrtc_produce_twice', Close.BadRequest, 'microphone already sending');
    const parsed = WebRtcProduceSchema.safeParse(d);
    if (!parsed.success)
      return reject(conn, 'webrtc_bad_produce', Close.DecodeError, `invalid produce: ${firstIssue(parsed.error)}`);
    link.producing = true;
    const { pt, audio_level_ext } = link.desc.codec;
    link.peer
      .produce({
        mid: '0',
        ssrc: parsed.data.ssrc,
        payloadType: pt,
        audioLevelExtId: audio_level_ext,
        fmtp: pt === BROWSER_OPUS.pt ? { minptime: 10, useinbandfec: 1 } : {},
      })
      .catch((err: Error) => reject(conn, 'webrtc_bad_produce', Close.BadRequest, `produce refused: ${err.message}`));
  }

  /** A browser speaker's level (mediasoup's observer) is its speaking state for everyone, native clients included. */
  private hookSpeaking(wch: WebRtcChannel, channel: VoiceChannel): void {
    if (this.hooked.has(wch)) return;
    this.hooked.add(wch);
    wch.on('speaking', (userId, on) => {
      const s = channel.sessions.get(userId);
      if (s && this.links.has(s)) channel.speaking(s, on ? 1 : 0);
    });
  }

  private announce(session: VoiceSession, c: ConsumerInfo): void {
    session.send(WebRtcOp.Stream, stream(c.userId, c.ssrc));
  }

  /** Admin deafen: a deafened browser's streams pause at the server. */
  setDeafened(session: VoiceSession, deafened: boolean): void {
    void this.links.get(session)?.peer.setDeafened(deafened);
  }

  private drop(session: VoiceSession): void {
    const link = this.links.get(session);
    if (!link) return;
    this.links.delete(session);
    this.take(link.ip, -1);
    this.opts.metrics.webrtcSessions.dec();
    link.peer.close();
  }

  private take(ip: string, delta: number): void {
    const n = (this.perIp.get(ip) ?? 0) + delta;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /** Browser sessions with a transport now (tests, health). */
  get size(): number {
    return this.links.size;
  }
}

function stream(userId: string, ssrc: number): WebRtcStreamData {
  return { user_id: userId, audio_ssrc: ssrc };
}
