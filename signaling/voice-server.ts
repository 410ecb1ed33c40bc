import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../common/logger.ts';
import { snowflake } from '../common/snowflake.ts';
import { isTransportMode, type MediaPlane, type TransportMode } from '../sfu/index.ts';
import { channelKey, VoiceChannel, type ChannelExtension } from './channel.ts';
import type { ConnectionHandler, GatewayConnection } from './connection.ts';
import type { SignalingMetrics } from './metrics.ts';
import { Close, IdentifySchema, Op, ResumeSchema, SelectProtocolSchema, SpeakingSchema } from './opcodes.ts';
import { VoiceSession } from './session.ts';
import { safeEqual } from '../common/secrets.ts';
import { UsedTokens, type VoiceTokenSigner } from './tokens.ts';
import { BrowserVoice, type Reject } from './webrtc/browser-voice.ts';

export interface VoiceServerOptions {
  /** Where channels' media runs: the in-process Sfu or a pool of SFU worker processes. */
  sfu: MediaPlane;
  signer: VoiceTokenSigner;
  metrics: SignalingMetrics;
  logger: Logger;
  /** Transport modes offered in Ready, most preferred first. */
  modes: readonly TransportMode[];
  tokenTtlMs: number;
  resumeGraceMs: number;
  e2ee: 'required' | 'optional' | 'off';
  /** 'ip': a session's UDP must come from its WebSocket peer's IP; 'any': no check (dual-stack, split NAT). */
  udpPeerMatch?: 'ip' | 'any';
  /** Features attached to every new channel (DAVE). */
  channelExtensions?: (channel: VoiceChannel, server: VoiceServer) => ChannelExtension[];
  /** Browser voice (op 1 `protocol: "webrtc"`); without it such a Select Protocol closes with 4012. */
  webrtc?: (reject: Reject) => BrowserVoice;
}

export interface JoinGrant {
  token: string;
  session_id: string;
  expires_at: number;
}

/** The first schema problem as "field: what is wrong", for close reasons and logs. */
function issueText(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  const i = err.issues[0];
  return i ? `${i.path.map(String).join('.') || 'payload'}: ${i.message}` : 'invalid';
}

/** Ops a real client may send that this server accepts and ignores (video, client flags, platform). */
const IGNORED_OPS = new Set([12, 15, 18, 20]);

export interface VoiceServerEvents {
  /**
   * A voice session ended for good (client left, kicked, timed out, replaced: 4006, shutdown: 4015), after it left
   * its channel. The platform's voice bridge listens (through bin/) so gateway voice states follow the voice server.
   */
  sessionEnded: [session: VoiceSession, code: number];
}

/**
 * The voice gateway's brain: admits sessions (Identify / Resume), runs each op against the session and its channel,
 * and serves the admin controls. Connections only frame and police; channels only fan out.
 */
export class VoiceServer extends EventEmitter<VoiceServerEvents> implements ConnectionHandler {
  readonly sessions = new Map<string, VoiceSession>();
  readonly channels = new Map<string, VoiceChannel>();
  private readonly byGuildUser = new Map<string, VoiceSession>();
  private readonly badLog: RateLimitedLog;
  private readonly usedTokens = new UsedTokens();

  /** The browser voice path, when configured. */
  readonly browsers: BrowserVoice | null;

  constructor(readonly opts: VoiceServerOptions) {
    super();
    this.badLog = new RateLimitedLog(opts.logger);
    this.browsers = opts.webrtc?.((conn, reason, code, message) => this.reject(conn, reason, code, message)) ?? null;
  }

  get sfu(): MediaPlane {
    return this.opts.sfu;
  }

  /** Admin join: a signed token placing `userId` in (guild, channel), and the session id the client identifies with. */
  grantJoin(guildId: string, channelId: string, userId: string, now = Date.now()): JoinGrant {
    const sessionId = snowflake();
    const expiresAt = now + this.opts.tokenTtlMs;
    const token = this.opts.signer.sign({ guildId, channelId, userId, sessionId, expiresAt });
    this.opts.metrics.joins.inc();
    return { token, session_id: sessionId, expires_at: expiresAt };
  }

  sessionOf(guildId: string, userId: string): VoiceSession | undefined {
    return this.byGuildUser.get(`${guildId}:${userId}`);
  }

  identify(conn: GatewayConnection, raw: unknown): void {
    const parsed = IdentifySchema.safeParse(raw);
    if (!parsed.success)
      return this.reject(conn, 'bad_identify', Close.DecodeError, `invalid Identify: ${issueText(parsed.error)}`);
    const d = parsed.data;
    const verdict = this.opts.signer.verify(d.token);
    if (!verdict.ok)
      return this.reject(
        conn,
        `token_${verdict.reason}`,
        Close.AuthenticationFailed,
        `voice token ${verdict.reason.replace('_', ' ')}; request a new join`,
      );
    const c = verdict.claims;
    if (c.guildId !== d.server_id || c.userId !== d.user_id || c.sessionId !== d.session_id) {
      return this.reject(
        conn,
        'token_mismatch',
        Close.AuthenticationFailed,
        'token does not match server_id/user_id/session_id',
      );
    }
    if (!this.usedTokens.consume(d.token, c))
      return this.reject(
        conn,
        'token_reused',
        Close.AuthenticationFailed,
        'voice token already used; request a new join',
      );
    const daveMax = d.max_dave_protocol_version ?? 0;
    if (this.opts.e2ee === 'required' && daveMax < 1) {
      return this.reject(conn, 'e2ee_required', Close.E2eeRequired, 'this channel requires DAVE end-to-end encryption');
    }
    // One voice session per user per guild: a new Identify replaces whatever was there.
    this.sessions.get(d.session_id)?.end(Close.SessionNoLongerValid);
    this.sessionOf(c.guildId, c.userId)?.end(Close.SessionNoLongerValid);

    const channel = this.channelFor(c.guildId, c.channelId);
    const transport = channel.router.createTransport();
    const session = new VoiceSession({
      id: d.session_id,
      userId: c.userId,
      guildId: c.guildId,
      channelId: c.channelId,
      token: d.token,
      maxDaveVersion: daveMax,
      transport,
      metrics: this.opts.metrics,
    });
    channel.admit(session);
    this.pinPeer(session, conn);
    // The channel closed under the session (admin close, shutdown): the client is disconnected, like a deleted channel.
    transport.once('routerclose', () => {
      session.conn?.close(Close.Disconnected, 'voice channel closed');
      session.end(Close.Disconnected);
    });
    this.sessions.set(session.id, session);
    this.byGuildUser.set(`${session.guildId}:${session.userId}`, session);
    this.opts.metrics.sessions.inc();
    session.once('ended', (code) => {
      this.forget(session);
      this.emit('sessionEnded', session, code);
    });
    session.attach(conn);
    conn.session = session;
    session.send(Op.Ready, {
      ssrc: session.ssrc,
      ip: this.sfu.publicIp,
      port: channel.router.port,
      modes: this.opts.modes,
      experiments: [],
    });
  }

  resume(conn: GatewayConnection, raw: unknown): void {
    const parsed = ResumeSchema.safeParse(raw);
    if (!parsed.success)
      return this.reject(conn, 'bad_resume', Close.DecodeError, `invalid Resume: ${issueText(parsed.error)}`);
    const d = parsed.data;
    const session = this.sessions.get(d.session_id);
    if (!session || !safeEqual(d.token, session.token) || session.guildId !== d.server_id) {
      this.opts.metrics.resumes.inc({ result: 'unknown_session' });
      return this.reject(
        conn,
        'resume_unknown',
        Close.SessionNoLongerValid,
        'no resumable session with this id and token; identify again',
      );
    }
    const missed = session.replay.since(d.seq_ack);
    if (!missed) {
      this.opts.metrics.resumes.inc({ result: 'buffer_gap' });
      session.end(Close.SessionNoLongerValid);
      return this.reject(
        conn,
        'resume_gap',
        Close.SessionNoLongerValid,
        'messages after seq_ack are no longer buffered; identify again',
      );
    }
    session.attach(conn);
    conn.session = session;
    this.pinPeer(session, conn);
    this.opts.metrics.resumes.inc({ result: 'ok' });
    session.send(Op.Resumed, null);
    for (const frame of missed) conn.sendRaw(frame);
  }

  message(conn: GatewayConnection, session: VoiceSession, op: number, d: unknown): void {
    switch (op) {
      case Op.SelectProtocol:
        return this.selectProtocol(conn, session, d);
      case Op.Speaking:
        return this.speaking(conn, session, d);
      default: {
        if (this.browsers?.message(conn, session, op, d)) return;
        if (IGNORED_OPS.has(op)) return;
        const channel = this.channelOf(session);
        if (channel) for (const e of channel.extensions) if (e.onClientMessage?.(session, op, d)) return;
        if (op >= Op.DavePrepareTransition && op <= Op.DaveMlsInvalidCommitWelcome) {
          return this.reject(
            conn,
            'dave_unexpected',
            Close.BadRequest,
            `op ${op} is not expected now (DAVE not negotiated or wrong state)`,
          );
        }
        return this.reject(conn, 'unknown_op', Close.UnknownOpcode, `unknown opcode ${op}`);
      }
    }
  }

  binary(conn: GatewayConnection, session: VoiceSession, op: number, payload: Buffer): void {
    const channel = this.channelOf(session);
    if (session.state.kind !== 'connected' || !channel) {
      return this.reject(conn, 'binary_early', Close.NotAuthenticated, `binary op ${op} before Session Description`);
    }
    for (const e of channel.extensions) if (e.onClientBinary?.(session, op, payload)) return;
    if (op === Op.DaveMlsKeyPackage || op === Op.DaveMlsCommitWelcome) {
      return this.reject(
        conn,
        'dave_unexpected',
        Close.BadRequest,
        `binary op ${op} is not expected now (DAVE not negotiated)`,
      );
    }
    this.reject(conn, 'unknown_op', Close.UnknownOpcode, `unknown binary opcode ${op}`);
  }

  closed(conn: GatewayConnection, code: number, byServer: boolean): void {
    const session = conn.session;
    if (!session || session.conn !== conn) return;
    conn.session = null;
    // 4015 (server asks for a resume) and abnormal drops keep the session; a clean 1000 or any other code ends it.
    const resumable = byServer ? code === Close.VoiceServerCrashed : code !== 1000;
    if (resumable) session.detach(conn, this.opts.resumeGraceMs, () => session.end(Close.SessionTimeout));
    else session.end(code);
  }

  /** Admin: server mute (the SFU drops their audio) or deafen (the SFU sends them nothing). */
  setServerMute(guildId: string, userId: string, muted: boolean): boolean {
    const s = this.sessionOf(guildId, userId);
    const ch = s && this.channelOf(s);
    if (!s || !ch) return false;
    ch.router.setServerMute(userId, muted);
    return true;
  }

  setDeafened(guildId: string, userId: string, deafened: boolean): boolean {
    const s = this.sessionOf(guildId, userId);
    const ch = s && this.channelOf(s);
    if (!s || !ch) return false;
    ch.router.setDeafened(userId, deafened);
    this.browsers?.setDeafened(s, deafened);
    return true;
  }

  /** Admin: close a user's socket with `code` (4014 kicks them; 4015 makes the client resume). */
  disconnect(guildId: string, userId: string, code: number, reason: string): boolean {
    const s = this.sessionOf(guildId, userId);
    if (!s) return false;
    if (s.conn) s.conn.close(code, reason);
    else if (code !== Close.VoiceServerCrashed) s.end(code);
    return true;
  }

  private selectProtocol(conn: GatewayConnection, session: VoiceSession, raw: unknown): void {
    if (session.state.kind !== 'identified')
      return this.reject(conn, 'select_twice', Close.BadRequest, 'protocol already selected');
    if (!this.browsers && BrowserVoice.selects(raw))
      return this.reject(conn, 'webrtc_unavailable', Close.UnknownProtocol, 'browser voice is off on this server');
    if (this.browsers && BrowserVoice.selects(raw)) {
      const channel = this.channels.get(channelKey(session.guildId, session.channelId));
      if (!channel || channel.closed)
        return this.reject(conn, 'channel_closed', Close.Disconnected, 'voice channel closed');
      return this.browsers.select(conn, session, channel, raw);
    }
    const parsed = SelectProtocolSchema.safeParse(raw);
    if (!parsed.success)
      return this.reject(conn, 'bad_select', Close.DecodeError, `invalid Select Protocol: ${issueText(parsed.error)}`);
    const { protocol, data } = parsed.data;
    if (protocol !== 'udp')
      return this.reject(
        conn,
        'unknown_protocol',
        Close.UnknownProtocol,
        `protocol "${protocol}" is not supported; use "udp"`,
      );
    if (!isTransportMode(data.mode) || !this.opts.modes.includes(data.mode)) {
      return this.reject(
        conn,
        'unknown_mode',
        Close.UnknownEncryptionMode,
        `encryption mode "${data.mode}" is not offered; choose one of ${this.opts.modes.join(', ')}`,
      );
    }
    const key = randomBytes(32);
    session.transport.setKey(data.mode, key);
    const channel = this.channels.get(channelKey(session.guildId, session.channelId));
    if (!channel || channel.closed)
      return this.reject(conn, 'channel_closed', Close.Disconnected, 'voice channel closed');
    channel.router.addParticipant(session.userId, session.transport);
    session.daveVersion = Math.min(session.maxDaveVersion, channel.protocolVersionFor(session));
    const since = session.state.identifiedAt;
    session.state = { kind: 'connected', mode: data.mode, connectedAt: Date.now() };
    session.send(Op.SessionDescription, {
      mode: data.mode,
      secret_key: [...key],
      dave_protocol_version: session.daveVersion,
      audio_codec: 'opus',
      video_codec: 'H264',
      media_session_id: session.id,
    });
    this.opts.metrics.identifyToReady.observe((Date.now() - since) / 1000);
    channel.join(session);
  }

  private speaking(conn: GatewayConnection, session: VoiceSession, raw: unknown): void {
    const parsed = SpeakingSchema.safeParse(raw);
    if (!parsed.success)
      return this.reject(conn, 'bad_speaking', Close.DecodeError, `invalid Speaking: ${issueText(parsed.error)}`);
    if (parsed.data.ssrc !== session.ssrc)
      return this.reject(
        conn,
        'foreign_ssrc',
        Close.BadRequest,
        `ssrc ${parsed.data.ssrc} is not this session's (${session.ssrc})`,
      );
    const channel = this.channelOf(session);
    if (!channel) return this.reject(conn, 'speaking_early', Close.BadRequest, 'Speaking before Select Protocol');
    const flags = typeof parsed.data.speaking === 'boolean' ? Number(parsed.data.speaking) : parsed.data.speaking;
    channel.speaking(session, flags);
    // A client that says it stopped and did not send its own tail gets one now (a no-op when it did).
    if (flags === 0) channel.router.speakingEnded(session.userId);
  }

  private channelOf(session: VoiceSession): VoiceChannel | undefined {
    const ch = this.channels.get(channelKey(session.guildId, session.channelId));
    return ch && ch.sessions.get(session.userId) === session ? ch : undefined;
  }

  private channelFor(guildId: string, channelId: string): VoiceChannel {
    const key = channelKey(guildId, channelId);
    let ch = this.channels.get(key);
    if (!ch) {
      const created = new VoiceChannel(guildId, channelId, this.sfu.createChannel(key));
      created.extensions.push(...(this.opts.channelExtensions?.(created, this) ?? []));
      this.channels.set(key, created);
      created.router.onWorkerDied(() => this.workerDied(created));
      ch = created;
    }
    return ch;
  }

  private forget(session: VoiceSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    const gu = `${session.guildId}:${session.userId}`;
    if (this.byGuildUser.get(gu) === session) this.byGuildUser.delete(gu);
    this.opts.metrics.sessions.dec();
    const key = channelKey(session.guildId, session.channelId);
    const ch = this.channels.get(key);
    if (ch) {
      ch.leave(session);
      if (ch.empty) this.closeChannelObject(ch);
    }
  }

  /**
   * The SFU worker hosting `ch` died and took its media with it. Every session there is closed with 4006, which a
   * Discord client answers by joining again through its main gateway (4015 would make it resume towards the dead
   * port); the new Identify places the channel on a live worker.
   */
  private workerDied(ch: VoiceChannel): void {
    this.opts.metrics.workerEvictions.inc(ch.sessions.size);
    for (const s of [...this.sessions.values()]) {
      if (s.guildId !== ch.guildId || s.channelId !== ch.channelId) continue;
      s.conn?.close(Close.SessionNoLongerValid, 'voice media worker restarted; join again');
      s.end(Close.SessionNoLongerValid);
    }
    this.closeChannelObject(ch);
  }

  /** Admin: closes a channel with everyone in it; each client is disconnected with 4014. False when none. */
  closeChannel(guildId: string, channelId: string): boolean {
    const ch = this.channels.get(channelKey(guildId, channelId));
    if (!ch) return false;
    this.closeChannelObject(ch);
    return true;
  }

  private closeChannelObject(ch: VoiceChannel): void {
    if (this.channels.get(ch.key) === ch) this.channels.delete(ch.key);
    ch.close();
  }

  /** The session's UDP may come only from the IP its (current) WebSocket comes from, unless configured otherwise. */
  private pinPeer(session: VoiceSession, conn: GatewayConnection): void {
    session.transport.peerIp = (this.opts.udpPeerMatch ?? 'ip') === 'ip' ? conn.peerIp : null;
  }

  private reject(conn: GatewayConnection, reason: string, code: number, message: string): void {
    this.opts.metrics.rejected.inc({ reason });
    this.badLog.warn(`reject:${reason}`, { reason, code, remote: conn.remote }, message);
    conn.close(code, message);
  }

  close(): void {
    for (const s of [...this.sessions.values()]) {
      s.conn?.close(Close.VoiceServerCrashed, 'server shutting down');
      s.end(Close.VoiceServerCrashed);
    }
    for (const ch of [...this.channels.values()]) this.closeChannelObject(ch);
  }
}
