import { EventEmitter } from 'node:events';
import type { MediaTransport, TransportMode } from '../sfu/index.ts';
import { Op } from './opcodes.ts';
import { ReplayBuffer } from './replay-buffer.ts';
import type { GatewayConnection } from './connection.ts';
import type { SignalingMetrics } from './metrics.ts';

/**
 * Where a voice session is in its life. A session outlives its WebSocket: when the socket drops it waits
 * `resumeGraceMs` for a Resume before it ends.
 */
export type SessionState =
  | { kind: 'identified'; identifiedAt: number }
  | { kind: 'connected'; mode: TransportMode | 'webrtc'; connectedAt: number }
  | { kind: 'ended'; code: number };

/** Ops the client never sees twice, so they are neither sequenced nor buffered for resume. */
const UNSEQUENCED = new Set<number>([Op.Hello, Op.HeartbeatAck, Op.Resumed]);

export interface VoiceSessionInit {
  id: string;
  userId: string;
  guildId: string;
  channelId: string;
  token: string;
  /** Highest DAVE protocol version the client offered in Identify (0 = none). */
  maxDaveVersion: number;
  transport: MediaTransport;
  metrics: SignalingMetrics;
}

export interface VoiceSessionEvents {
  ended: [code: number];
}

/** One user's voice session: identity, media transport, the v8 sequence counter and resume buffer. */
export class VoiceSession extends EventEmitter<VoiceSessionEvents> {
  readonly id: string;
  readonly userId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly token: string;
  readonly maxDaveVersion: number;
  readonly transport: MediaTransport;
  state: SessionState = { kind: 'identified', identifiedAt: Date.now() };
  conn: GatewayConnection | null = null;
  /** Speaking flags from the client's last op 5 (1 microphone, 2 soundshare, 4 priority). */
  speaking = 0;
  /** DAVE protocol version negotiated for this session (op 4), set when the session description is sent. */
  daveVersion = 0;
  readonly replay = new ReplayBuffer();
  private detachTimer: NodeJS.Timeout | null = null;
  private readonly metrics: SignalingMetrics;

  constructor(init: VoiceSessionInit) {
    super();
    this.id = init.id;
    this.userId = init.userId;
    this.guildId = init.guildId;
    this.channelId = init.channelId;
    this.token = init.token;
    this.maxDaveVersion = init.maxDaveVersion;
    this.transport = init.transport;
    this.metrics = init.metrics;
  }

  get ssrc(): number {
    return this.transport.ssrc;
  }

  get ended(): boolean {
    return this.state.kind === 'ended';
  }

  /** Sends a JSON message; sequenced ones are buffered so a resumed client gets what it missed. */
  send(op: number, d: unknown): void {
    if (this.ended) return;
    let frame: string;
    if (UNSEQUENCED.has(op)) {
      frame = JSON.stringify({ op, d });
    } else {
      const seq = this.replay.nextSeq();
      frame = JSON.stringify({ op, d, seq });
      this.replay.push(seq, frame);
    }
    this.metrics.messagesOut.inc({ op: String(op) });
    this.conn?.sendRaw(frame);
  }

  /** Sends a binary DAVE message: `[u16 seq][u8 op][payload]`, sharing the JSON sequence counter. */
  sendBinary(op: number, payload: Uint8Array): void {
    if (this.ended) return;
    const seq = this.replay.nextSeq();
    const frame = Buffer.allocUnsafe(3 + payload.length);
    frame.writeUInt16BE(seq, 0);
    frame[2] = op;
    frame.set(payload, 3);
    this.replay.push(seq, frame);
    this.metrics.messagesOut.inc({ op: String(op) });
    this.conn?.sendRaw(frame);
  }

  attach(conn: GatewayConnection): void {
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = null;
    const old = this.conn;
    this.conn = conn;
    if (old && old !== conn) old.release();
  }

  /** The socket dropped: keep the session resumable for `graceMs`, then end it. */
  detach(conn: GatewayConnection, graceMs: number, onExpire: () => void): void {
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = setTimeout(onExpire, graceMs);
    this.detachTimer.unref();
  }

  /** Ends the session for good; listeners remove it from its channel and free its transport. */
  end(code: number): void {
    if (this.ended) return;
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = null;
    this.state = { kind: 'ended', code };
    const conn = this.conn;
    this.conn = null;
    conn?.release();
    this.emit('ended', code);
    this.removeAllListeners();
  }
}
