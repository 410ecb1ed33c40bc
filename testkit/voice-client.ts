import dgram, { type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  createTransportCipher,
  createRtpHeader,
  OPUS_PAYLOAD_TYPE,
  parseRtpHeader,
  readIpDiscoveryResponse,
  writeIpDiscoveryRequest,
  writeRtpHeader,
  IP_DISCOVERY_LENGTH,
  looksLikeRtp,
  type TransportCipher,
  type TransportMode,
} from '../sfu/index.ts';
import { Op } from '../signaling/index.ts';

/**
 * A lean native Discord voice client (gateway v8 + UDP media): what load generators, the audio quality harness and
 * hostile-input tests use where a full @discordjs/voice connection would be too heavy or too polite.
 */
export interface VoiceClientOptions {
  /** ws:// or wss:// URL of the voice gateway (with ?v=8). */
  url: string;
  serverId: string;
  userId: string;
  sessionId: string;
  token: string;
  /** Mode to select; default: the first the server offers. */
  mode?: TransportMode;
  maxDaveProtocolVersion?: number;
  /** Extra CA for wss with the development certificate. */
  ca?: string | Buffer;
}

export interface ReceivedFrame {
  ssrc: number;
  userId: string | undefined;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

export interface VoiceClientEvents {
  frame: [ReceivedFrame];
  json: [op: number, d: unknown];
  close: [code: number, reason: string];
}

export class VoiceClient extends EventEmitter<VoiceClientEvents> {
  ws!: WebSocket;
  udp!: Socket;
  ssrc = 0;
  mode: TransportMode | null = null;
  secretKey: Buffer | null = null;
  serverAddress = '';
  serverPort = 0;
  /** SSRC → user id, learned from op 5 like a real client. */
  readonly ssrcs = new Map<number, string>();
  lastSeq = -1;
  sequence = Math.floor(Math.random() * 0xffff);
  timestamp = Math.floor(Math.random() * 0xffffffff) >>> 0;
  nonce = 0;
  closeCode: number | null = null;
  private cipher: TransportCipher | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly out = Buffer.alloc(2048);
  private readonly plain = Buffer.alloc(2048);
  private readonly header = createRtpHeader();

  constructor(readonly opts: VoiceClientOptions) {
    super();
  }

  /** Opens the gateway, identifies, does IP discovery and Select Protocol; resolves on Session Description. */
  async connect(timeoutMs = 10_000): Promise<this> {
    this.ws = new WebSocket(this.opts.url, { ca: this.opts.ca });
    this.udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => this.udp.bind(0, '127.0.0.1', resolve));
    this.udp.on('message', (msg) => this.onDatagram(msg));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('voice client: no Session Description in time')), timeoutMs);
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        clearTimeout(timer);
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.emit('close', code, reason.toString());
        reject(new Error(`voice gateway closed ${code} ${reason.toString()}`));
      });
      this.ws.on('message', (data, isBinary) => {
        if (isBinary) {
          this.lastSeq = (data as Buffer).readUInt16BE(0);
          return;
        }
        const msg = JSON.parse(data.toString()) as { op: number; d: Record<string, unknown>; seq?: number };
        if (msg.seq) this.lastSeq = msg.seq;
        this.emit('json', msg.op, msg.d);
        void this.onJson(msg.op, msg.d).then(
          (done) => {
            if (done) {
              clearTimeout(timer);
              resolve();
            }
          },
          (err: Error) => reject(err),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.send(Op.Identify, {
      server_id: this.opts.serverId,
      user_id: this.opts.userId,
      session_id: this.opts.sessionId,
      token: this.opts.token,
      max_dave_protocol_version: this.opts.maxDaveProtocolVersion ?? 0,
    });
    await ready;
    return this;
  }

  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }

  setSpeaking(flags: number): void {
    this.send(Op.Speaking, { speaking: flags, delay: 0, ssrc: this.ssrc });
  }

  /** Sends one Opus frame as the next RTP packet (seq +1, timestamp +960, nonce +1). */
  sendOpus(frame: Uint8Array): void {
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + 960) >>> 0;
    this.nonce = (this.nonce + 1) >>> 0;
    this.udp.send(
      this.buildPacket(frame, this.sequence, this.timestamp, this.nonce),
      this.serverPort,
      this.serverAddress,
    );
  }

  /** A sealed RTP datagram with explicit fields (hostile tests craft replays and forgeries with it). */
  buildPacket(frame: Uint8Array, sequence: number, timestamp: number, nonce: number, ssrc = this.ssrc): Buffer {
    if (!this.cipher) throw new Error('voice client: not connected');
    const header = writeRtpHeader(this.out, OPUS_PAYLOAD_TYPE, false, sequence, timestamp, ssrc);
    const n = this.cipher.seal(this.out, header, frame, frame.length, nonce);
    return Buffer.from(this.out.subarray(0, n));
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.cipher?.close();
    try {
      this.ws.close(1000);
    } catch {
      // already closed
    }
    try {
      this.udp.close();
    } catch {
      // already closed
    }
  }

  private async onJson(op: number, d: Record<string, unknown>): Promise<boolean> {
    switch (op) {
      case Op.Hello: {
        const interval = Number(d.heartbeat_interval);
        this.heartbeat = setInterval(() => this.send(Op.Heartbeat, { t: Date.now(), seq_ack: this.lastSeq }), interval);
        this.heartbeat.unref();
        return false;
      }
      case Op.Ready: {
        this.ssrc = Number(d.ssrc);
        this.serverAddress = String(d.ip);
        this.serverPort = Number(d.port);
        const offered = d.modes as TransportMode[];
        const mode = this.opts.mode ?? offered[0];
        const discovered = await this.discover();
        this.send(Op.SelectProtocol, {
          protocol: 'udp',
          data: { address: discovered.address, port: discovered.port, mode },
        });
        return false;
      }
      case Op.SessionDescription: {
        this.mode = d.mode as TransportMode;
        this.secretKey = Buffer.from(d.secret_key as number[]);
        this.cipher = createTransportCipher(this.mode, this.secretKey);
        return true;
      }
      case Op.Speaking:
        this.ssrcs.set(Number(d.ssrc), String(d.user_id));
        return false;
      default:
        return false;
    }
  }

  private discover(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const req = Buffer.alloc(IP_DISCOVERY_LENGTH);
      writeIpDiscoveryRequest(req, this.ssrc);
      const onMsg = (msg: Buffer) => {
        const res = readIpDiscoveryResponse(msg);
        if (!res) return;
        this.udp.off('message', onMsg);
        clearTimeout(timer);
        resolve({ address: res.address, port: res.port });
      };
      const timer = setTimeout(() => {
        this.udp.off('message', onMsg);
        reject(new Error('voice client: IP discovery timed out'));
      }, 3000);
      this.udp.on('message', onMsg);
      this.udp.send(req, this.serverPort, this.serverAddress);
    });
  }

  private onDatagram(msg: Buffer): void {
    const cipher = this.cipher;
    // By content, not length alone: an RTP packet can be 74 bytes long too (a 42-byte Opus frame in AEAD modes).
    if (!cipher || (msg.length === IP_DISCOVERY_LENGTH && !looksLikeRtp(msg, msg.length))) return;
    if (!parseRtpHeader(msg, msg.length, this.header)) return;
    const headerLength = cipher.headerLength(msg, msg.length);
    if (headerLength < 0) return;
    const n = cipher.open(msg, msg.length, headerLength, this.plain);
    if (n < 0) return;
    const skip = this.header.extension && headerLength > 12 ? this.header.extensionWords * 4 : 0;
    this.emit('frame', {
      ssrc: this.header.ssrc,
      userId: this.ssrcs.get(this.header.ssrc),
      sequence: this.header.sequence,
      timestamp: this.header.timestamp,
      payload: Buffer.from(this.plain.subarray(skip, n)),
    });
  }
}
