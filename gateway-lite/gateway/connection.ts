import type { WebSocket } from 'ws';
import { CloseCode, closeReason } from './close-codes.ts';
import type { FrameEncoder } from './compression.ts';
import { CommandBudget, MAX_CLIENT_PAYLOAD } from './limits.ts';
import {
  heartbeatSchema,
  identifySchema,
  Op,
  presenceSchema,
  requestMembersSchema,
  resumeSchema,
  voiceStateSchema,
  type GatewayPayload,
  type IdentifyPayload,
  type PresencePayload,
  type RequestMembersPayload,
  type ResumePayload,
} from './opcodes.ts';
import { controlFrame } from './serialize.ts';
import type { GatewaySession, SessionSink } from './session.ts';
import type { z } from 'zod';

/**
 * A socket's protocol state: Hello sent and waiting for Identify/Resume; an Identify or Resume being checked; carrying
 * a session; closed (nothing more is read or sent).
 */
export type ConnectionState =
  | { kind: 'hello' }
  | { kind: 'authenticating' }
  | { kind: 'ready'; session: GatewaySession }
  | { kind: 'closed'; code: number };

/** What a connection asks of the hub (the hub owns sessions; the connection owns the socket and its limits). */
export interface ConnectionHost {
  identify(conn: GatewayConnection, d: IdentifyPayload): Promise<void>;
  resume(conn: GatewayConnection, d: ResumePayload): Promise<void>;
  presence(conn: GatewayConnection, session: GatewaySession, d: PresencePayload): Promise<void>;
  voiceState(conn: GatewayConnection, session: GatewaySession, d: z.infer<typeof voiceStateSchema>): Promise<void>;
  requestMembers(conn: GatewayConnection, session: GatewaySession, d: RequestMembersPayload): Promise<void>;
  /** The socket is gone (`by` = who closed it). Called exactly once. */
  closed(conn: GatewayConnection, code: number, by: 'server' | 'client'): void;
  /** Bad input worth a rate-limited log line. */
  rejected(conn: GatewayConnection, code: number, reason: string): void;
}

export interface ConnectionOptions {
  heartbeatIntervalMs: number;
  commandLimit: { limit: number; windowMs: number };
  /** Past this many queued outbound bytes, sheddable dispatches are dropped. */
  shedBytes: number;
  /** Past this many, the socket is closed resumably (4000) and the session waits for a Resume. */
  maxBufferedBytes: number;
}

/** How long a closing socket may take to finish its close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * One gateway WebSocket: Hello, heartbeats (op 11 for every op 1; silence past 1.5 intervals + 1 s closes 4009),
 * decoding and validating client payloads (4002), the command budget (4008), op checks (4001/4003/4005), the
 * outbound path through the transport encoder with its buffer bound, and closing with a documented code.
 */
export class GatewayConnection implements SessionSink {
  state: ConnectionState = { kind: 'hello' };
  private readonly budget: CommandBudget;
  private watchdog: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly encoder: FrameEncoder,
    readonly remote: string,
    private readonly host: ConnectionHost,
    private readonly opts: ConnectionOptions,
  ) {
    this.budget = new CommandBudget(opts.commandLimit.limit, opts.commandLimit.windowMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number) => this.onSocketClosed(code));
    ws.on('error', () => {}); // followed by 'close'
    this.sendControl(Op.HELLO, { heartbeat_interval: opts.heartbeatIntervalMs });
    this.armWatchdog();
  }

  get open(): boolean {
    return this.state.kind !== 'closed';
  }

  /** Queued outbound bytes: the socket's buffer plus what is still inside the compressor. */
  get buffered(): number {
    return this.ws.bufferedAmount + this.encoder.pending;
  }

  congested(): boolean {
    return this.buffered > this.opts.shedBytes;
  }

  sendFrame(frame: string): void {
    if (this.state.kind === 'closed') return;
    if (this.buffered > this.opts.maxBufferedBytes) {
      this.close(CloseCode.UNKNOWN_ERROR, 'outbound buffer overflow (slow consumer); resume');
      return;
    }
    this.encoder.encode(frame, (data) => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
    });
  }

  sendControl(op: number, d: unknown): void {
    this.sendFrame(controlFrame(op, d));
  }

  /** Closes with `code` and tells the hub at once (a slow consumer may never read the close frame). */
  close(code: number, reason: string): void {
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'closed', code };
    clearTimeout(this.watchdog);
    this.ws.close(code, closeReason(reason));
    this.killTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.killTimer.unref();
    this.encoder.close();
    this.host.closed(this, code, 'server');
  }

  /** Refuses bad input with its close code, via the hub's counter and rate-limited log. */
  reject(code: number, reason: string): void {
    if (this.state.kind === 'closed') return;
    this.host.rejected(this, code, reason);
    this.close(code, reason);
  }

  private onSocketClosed(code: number): void {
    clearTimeout(this.killTimer);
    clearTimeout(this.watchdog);
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'closed', code };
    this.encoder.close();
    this.host.closed(this, code, 'client');
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const ms = Math.ceil(this.opts.heartbeatIntervalMs * 1.5) + 1000;
    this.watchdog = setTimeout(() => {
      const what = this.state.kind === 'ready' ? 'no heartbeat' : 'no identify or heartbeat';
      this.reject(CloseCode.SESSION_TIMED_OUT, `${what} within ${ms} ms`);
    }, ms);
    this.watchdog.unref();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state.kind === 'closed') return;
    if (data.length > MAX_CLIENT_PAYLOAD)
      return this.reject(CloseCode.DECODE_ERROR, `payload of ${data.length} bytes exceeds ${MAX_CLIENT_PAYLOAD}`);
    if (!this.budget.take())
      return this.reject(
        CloseCode.RATE_LIMITED,
        `more than ${this.opts.commandLimit.limit} commands in ${this.opts.commandLimit.windowMs} ms`,
      );
    if (isBinary) return this.reject(CloseCode.DECODE_ERROR, 'binary frames are not accepted (encoding=json)');
    let p: GatewayPayload;
    try {
      p = JSON.parse(data.toString('utf8')) as GatewayPayload;
    } catch {
      return this.reject(CloseCode.DECODE_ERROR, 'payload is not valid JSON');
    }
    if (p === null || typeof p !== 'object' || typeof p.op !== 'number')
      return this.reject(CloseCode.DECODE_ERROR, 'payload has no numeric op');
    this.handle(p);
  }

  private parse<T extends z.ZodType>(schema: T, d: unknown, what: string): z.infer<T> | undefined {
    const r = schema.safeParse(d);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    this.reject(CloseCode.DECODE_ERROR, `invalid ${what}: ${issue.path.join('.') || 'd'} ${issue.message}`);
    return undefined;
  }

  private handle(p: GatewayPayload): void {
    const st = this.state;
    switch (p.op) {
      case Op.HEARTBEAT: {
        if (!heartbeatSchema.safeParse(p.d ?? null).success)
          return this.reject(CloseCode.DECODE_ERROR, 'heartbeat d must be a sequence number or null');
        this.armWatchdog();
        return this.sendControl(Op.HEARTBEAT_ACK, null);
      }
      case Op.IDENTIFY: {
        if (st.kind !== 'hello') return this.reject(CloseCode.ALREADY_AUTHENTICATED, 'already identified');
        const d = this.parse(identifySchema, p.d, 'identify');
        if (!d) return;
        this.state = { kind: 'authenticating' };
        return void this.host.identify(this, d).catch((err: Error) => this.fail(err));
      }
      case Op.RESUME: {
        if (st.kind !== 'hello') return this.reject(CloseCode.ALREADY_AUTHENTICATED, 'already identified');
        const d = this.parse(resumeSchema, p.d, 'resume');
        if (!d) return;
        this.state = { kind: 'authenticating' };
        return void this.host.resume(this, d).catch((err: Error) => this.fail(err));
      }
      case Op.PRESENCE_UPDATE:
      case Op.VOICE_STATE_UPDATE:
      case Op.REQUEST_GUILD_MEMBERS: {
        if (st.kind !== 'ready') return this.reject(CloseCode.NOT_AUTHENTICATED, `op ${p.op} before identify`);
        return this.command(st.session, p);
      }
      default:
        return this.reject(CloseCode.UNKNOWN_OPCODE, `unknown opcode ${p.op}`);
    }
  }

  private command(session: GatewaySession, p: GatewayPayload): void {
    let work: Promise<void> | undefined;
    if (p.op === Op.PRESENCE_UPDATE) {
      const d = this.parse(presenceSchema, p.d, 'presence update');
      if (d) work = this.host.presence(this, session, d);
    } else if (p.op === Op.VOICE_STATE_UPDATE) {
      const d = this.parse(voiceStateSchema, p.d, 'voice state update');
      if (d) work = this.host.voiceState(this, session, d);
    } else {
      const d = this.parse(requestMembersSchema, p.d, 'request guild members');
      if (d && d.query === undefined && d.user_ids === undefined)
        return this.reject(CloseCode.DECODE_ERROR, 'request guild members needs query or user_ids');
      if (d) work = this.host.requestMembers(this, session, d);
    }
    void work?.catch((err: Error) => this.fail(err));
  }

  /** An unexpected failure behind a command: 4000 keeps the session resumable. */
  private fail(err: Error & { code?: unknown }): void {
    const code = typeof err.code === 'number' && err.code >= 4000 && err.code <= 4014 ? err.code : 4000;
    this.reject(code, code === 4000 ? `internal error: ${err.message}` : err.message);
  }
}
