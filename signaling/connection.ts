import type { WebSocket, RawData } from 'ws';
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../common/logger.ts';
import { Close, EnvelopeSchema, HeartbeatSchema, Op } from './opcodes.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { VoiceSession } from './session.ts';

export interface ConnectionLimits {
  heartbeatIntervalMs: number;
  /** A socket that has not sent Identify or Resume by then is closed with 4003. */
  identifyTimeoutMs: number;
  maxFrameBytes: number;
  rateBurst: number;
  ratePerS: number;
}

/** What a connection hands upward once a frame has been parsed and checked. */
export interface ConnectionHandler {
  identify(conn: GatewayConnection, d: unknown): void;
  resume(conn: GatewayConnection, d: unknown): void;
  message(conn: GatewayConnection, session: VoiceSession, op: number, d: unknown): void;
  binary(conn: GatewayConnection, session: VoiceSession, op: number, payload: Buffer): void;
  /** The socket closed; `byServer` carries the code when the server closed it. */
  closed(conn: GatewayConnection, code: number, byServer: boolean): void;
}

/**
 * One voice gateway WebSocket: framing, size and rate limits, heartbeats, and the order rules that do not need the
 * session (Identify/Resume first, once). Everything else goes to the handler.
 */
export class GatewayConnection {
  session: VoiceSession | null = null;
  private lastBeat = Date.now();
  private tokens: number;
  private lastRefill = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private readonly identifyDeadline: NodeJS.Timeout;
  private terminator: NodeJS.Timeout | null = null;
  private closing = false;
  private released = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    /** The peer's IP (IPv4-mapped IPv6 unwrapped): the only source the session's UDP is accepted from by default. */
    readonly peerIp: string,
    private readonly handler: ConnectionHandler,
    private readonly limits: ConnectionLimits,
    private readonly metrics: SignalingMetrics,
    private readonly log: Logger,
    private readonly badLog: RateLimitedLog,
  ) {
    this.tokens = limits.rateBurst;
    metrics.connections.inc();
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (err) => log.debug({ err, remote }, 'websocket error'));
    // Clients heartbeat every interval; three missed beats (as @discordjs/voice counts them) end the session.
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastBeat > limits.heartbeatIntervalMs * 3)
          this.close(Close.SessionTimeout, 'no heartbeat received in time');
      },
      Math.max(50, Math.floor(limits.heartbeatIntervalMs / 2)),
    );
    this.watchdog.unref();
    // Heartbeats alone must not keep an unauthenticated socket: it has to identify within its own deadline.
    this.identifyDeadline = setTimeout(() => {
      if (!this.session)
        this.reject('identify_timeout', Close.NotAuthenticated, `no Identify within ${limits.identifyTimeoutMs} ms`);
    }, limits.identifyTimeoutMs);
    this.identifyDeadline.unref();
    this.sendRaw(JSON.stringify({ op: Op.Hello, d: { heartbeat_interval: limits.heartbeatIntervalMs, v: 8 } }));
    metrics.messagesOut.inc({ op: String(Op.Hello) });
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  sendRaw(frame: string | Buffer): void {
    if (this.open) this.ws.send(frame);
  }

  /** Closes with a voice close code; the reason names what was wrong so client logs explain themselves. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.metrics.closes.inc({ code: String(code) });
    this.log.debug({ code, reason, remote: this.remote, user: this.session?.userId }, 'closing voice connection');
    clearInterval(this.watchdog);
    clearTimeout(this.identifyDeadline);
    this.handler.closed(this, code, true);
    this.ws.close(code, reason.slice(0, 120));
    // A peer that never completes the close handshake must not hold the socket open.
    this.terminator = setTimeout(() => this.ws.terminate(), 2000);
    this.terminator.unref();
  }

  /** The session moved to another connection (resume) or ended: this socket no longer speaks for it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.session = null;
    if (!this.closing) this.close(Close.SessionNoLongerValid, 'session taken over or ended');
  }

  private onClose(code: number): void {
    clearInterval(this.watchdog);
    clearTimeout(this.identifyDeadline);
    if (this.terminator) clearTimeout(this.terminator);
    this.terminator = null;
    this.metrics.connections.dec();
    if (!this.closing) {
      this.closing = true;
      this.handler.closed(this, code, false);
    }
  }

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(
      this.limits.rateBurst,
      this.tokens + ((now - this.lastRefill) / 1000) * this.limits.ratePerS,
    );
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private reject(reason: string, code: number, message: string): void {
    this.metrics.rejected.inc({ reason });
    this.badLog.warn(`reject:${reason}`, { reason, code, remote: this.remote, user: this.session?.userId }, message);
    this.close(code, message);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (buf.length > this.limits.maxFrameBytes)
      return this.reject(
        'oversized',
        Close.DecodeError,
        `frame of ${buf.length} bytes exceeds ${this.limits.maxFrameBytes}`,
      );
    if (!this.takeToken()) return this.reject('rate_limited', Close.RateLimited, 'too many messages; slow down');
    if (isBinary) return this.onBinary(buf);
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      return this.reject('bad_json', Close.DecodeError, 'payload is not valid JSON');
    }
    const env = EnvelopeSchema.safeParse(parsed);
    if (!env.success)
      return this.reject('bad_envelope', Close.DecodeError, 'payload must be an object with a numeric op');
    const { op, d } = env.data;
    this.metrics.messagesIn.inc({ op: String(op) });
    if (op === Op.Heartbeat) return this.onHeartbeat(d);
    if (op === Op.Identify || op === Op.Resume) {
      if (this.session)
        return this.reject(
          'already_authenticated',
          Close.AlreadyAuthenticated,
          'already identified on this connection',
        );
      return op === Op.Identify ? this.handler.identify(this, d) : this.handler.resume(this, d);
    }
    if (!this.session) {
      if (!KNOWN_CLIENT_OPS.has(op)) return this.reject('unknown_op', Close.UnknownOpcode, `unknown opcode ${op}`);
      return this.reject('not_authenticated', Close.NotAuthenticated, `op ${op} before Identify`);
    }
    this.handler.message(this, this.session, op, d);
  }

  private onBinary(buf: Buffer): void {
    if (buf.length < 1) return this.reject('bad_binary', Close.DecodeError, 'empty binary frame');
    const op = buf[0];
    this.metrics.messagesIn.inc({ op: String(op) });
    if (!this.session)
      return this.reject('not_authenticated', Close.NotAuthenticated, `binary op ${op} before Identify`);
    this.handler.binary(this, this.session, op, buf.subarray(1));
  }

  private onHeartbeat(d: unknown): void {
    const hb = HeartbeatSchema.safeParse(d);
    if (!hb.success)
      return this.reject('bad_heartbeat', Close.DecodeError, 'heartbeat must be {t, seq_ack} or a number');
    this.lastBeat = Date.now();
    const t = typeof hb.data === 'number' ? hb.data : hb.data.t;
    if (typeof hb.data === 'object' && hb.data.seq_ack !== undefined && this.session)
      this.session.replay.ack(hb.data.seq_ack);
    this.sendRaw(JSON.stringify({ op: Op.HeartbeatAck, d: { t } }));
    this.metrics.messagesOut.inc({ op: String(Op.HeartbeatAck) });
  }
}

/** Client→server ops this server understands; anything else closes with 4001. */
export const KNOWN_CLIENT_OPS = new Set<number>([
  Op.Identify,
  Op.SelectProtocol,
  Op.Heartbeat,
  Op.Speaking,
  Op.Resume,
  Op.DaveTransitionReady,
  Op.DaveMlsKeyPackage,
  Op.DaveMlsCommitWelcome,
  Op.DaveMlsInvalidCommitWelcome,
  Op.WebRtcConnect,
  Op.WebRtcProduce,
  // Sent by real Discord clients; accepted and ignored (video, client flags/platform).
  12,
  15,
  18,
  20,
]);
