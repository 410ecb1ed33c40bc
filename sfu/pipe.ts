import type { Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { Participant } from './participant.ts';
import { inboundFrame, type Router } from './router.ts';
import { createRtpHeader, OPUS_PAYLOAD_TYPE, RTP_FIXED_HEADER, writeRtpHeader } from './rtp/rtp-header.ts';
import { Transport, type OutgoingFrame } from './transport.ts';
import { bindLoopback, LOOPBACK, readPlainRtp, RelayTransport } from './udp/loopback-rtp.ts';

/** The pipe's user id in a router: never a real user's (snowflakes are digits). */
export const PIPE_USER_ID = '@router-pipe';

/** A user on the far side of the pipe, as this router sees them: heard through the pipe, sent nothing directly. */
export class PipeMemberTransport extends Transport {
  readonly kind: string;

  constructor(ssrc: number, kind: string) {
    super(ssrc);
    // The far side's own kind ('udp' for native clients in a worker, 'webrtc' for browsers in the signaling process),
    // so code that treats natives and browsers differently keeps doing so across the pipe.
    this.kind = kind;
  }

  send(_frame: OutgoingFrame): void {
    // They hear this router's media through the pipe's own participant.
  }

  protected release(): void {}
}

/**
 * One end of a pipe between two routers of one channel in different processes (mediasoup's pipeToRouter): plain RTP
 * over loopback, each speaker keeping its SSRC. Each end is a participant of its router that receives the local
 * speakers' frames (after that router's E2EE gate and rewriting) and sends them across; what arrives from the other end
 * enters the router as the far-side member with that SSRC. A frame of a far-side member is never sent back.
 */
export class RouterPipe {
  private peerPort = 0;
  private isClosed = false;
  readonly transport: RelayTransport;
  readonly participant: Participant;
  /** Far-side members: SSRC → their participant in this router. */
  private readonly members = new Map<number, Participant>();
  private readonly header = createRtpHeader();
  private readonly out = Buffer.allocUnsafe(2048);
  private readonly frame = inboundFrame(new Uint8Array(0));
  readonly counts = { sent: 0, received: 0, dropped: 0 };

  private constructor(
    private readonly router: Router,
    private readonly socket: Socket,
    pipeSsrc: number,
    private readonly log: Logger,
  ) {
    // The pipe as its router sees it: one more receiver, relaying every local speaker's frames to the other router.
    this.transport = router.adoptTransport(
      new RelayTransport(
        pipeSsrc,
        'pipe',
        (f) => this.relay(f),
        () => this.close(),
      ),
    );
    this.participant = router.addParticipant(PIPE_USER_ID, this.transport);
    socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo.port));
  }

  /** Opens this end on a loopback port; `connect()` it to the other end's port. */
  static async open(router: Router, pipeSsrc: number, log: Logger): Promise<RouterPipe> {
    const socket = await bindLoopback(log, 'router pipe');
    return new RouterPipe(router, socket, pipeSsrc, log);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  connect(peerPort: number): void {
    this.peerPort = peerPort;
  }

  /** A user on the other side joined: their frames arrive here with `ssrc`. */
  addMember(userId: string, ssrc: number, kind: string): Participant | null {
    if (this.isClosed || this.router.closed) return null;
    const t = this.router.adoptTransport(new PipeMemberTransport(ssrc, kind));
    const p = this.router.addParticipant(userId, t);
    this.members.set(ssrc, p);
    t.once('@close', () => {
      if (this.members.get(ssrc) === p) this.members.delete(ssrc);
    });
    return p;
  }

  removeMember(ssrc: number): void {
    this.members.get(ssrc)?.transport.close();
  }

  /** This router → the other: plain RTP, the payload as it is (DAVE-marked frames cross untouched). */
  relay(frame: OutgoingFrame): void {
    if (this.peerPort === 0 || this.members.has(frame.ssrc)) return;
    const start = frame.offset + frame.extensionWords * 4;
    if (RTP_FIXED_HEADER + frame.payloadLength > this.out.length) return void this.counts.dropped++;
    writeRtpHeader(this.out, OPUS_PAYLOAD_TYPE, frame.marker, frame.sequence, frame.timestamp, frame.ssrc);
    this.out.set(frame.data.subarray(start, start + frame.payloadLength), RTP_FIXED_HEADER);
    // dgram copies a Buffer argument with an explicit length into its request before returning.
    this.socket.send(this.out, 0, RTP_FIXED_HEADER + frame.payloadLength, this.peerPort, LOOPBACK);
    this.counts.sent++;
  }

  /** The other router → this one: the far-side member's frame, forwarded here like any speaker's. */
  private onPacket(msg: Buffer, fromPort: number): void {
    if (fromPort !== this.peerPort) return void this.counts.dropped++;
    const f = this.frame;
    if (!readPlainRtp(msg, this.header, f)) return void this.counts.dropped++;
    const p = this.members.get(this.header.ssrc);
    if (!p || p.closed) return void this.counts.dropped++;
    this.counts.received++;
    this.router.forward(p, f, Date.now());
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const p of [...this.members.values()]) p.transport.close();
    this.members.clear();
    this.socket.close();
    this.transport.close();
    this.log.debug({ router: this.router.id }, 'router pipe closed');
  }
}
