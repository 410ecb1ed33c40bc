import type { Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { types as ms } from 'mediasoup';
import type { Participant } from '../participant.ts';
import { inboundFrame, type Router } from '../router.ts';
import { createRtpHeader, RTP_FIXED_HEADER, writeRtpHeader } from '../rtp/rtp-header.ts';
import type { OutgoingFrame } from '../transport.ts';
import { bindLoopback, LOOPBACK, readPlainRtp, RelayTransport } from '../udp/loopback-rtp.ts';
import { CONSUMER_CAPABILITIES, plainOpusParameters, WEBRTC_OPUS_PT } from './codec.ts';

/** The bridge's user id in the native router: never a real user's (snowflakes are digits). */
export const BRIDGE_USER_ID = '@webrtc-bridge';

/**
 * Native ⇄ mediasoup for one channel, through one loopback PlainTransport (plain RTP, rtcp-mux) and one Node UDP
 * socket. Native → mediasoup: a Producer per native speaker, with the speaker's own SSRC. mediasoup → native: a
 * Consumer per browser Producer; its packets arrive on the socket and enter the native router as that browser
 * participant's media, to be sealed per native receiver by their transports. Payload bytes are never touched, so
 * DAVE-marked frames cross as they are.
 */
export class Bridge {
  private plain: ms.PlainTransport | null = null;
  private plainPort = 0;
  private isClosed = false;
  readonly transport: RelayTransport;
  readonly participant: Participant;
  /** Native SSRC → its Producer in the current mediasoup router. */
  private readonly producers = new Map<number, ms.Producer>();
  /** Bridge consumer's wire SSRC → the browser participant (native side) whose media it carries. */
  private readonly inbound = new Map<number, Participant>();
  /** Native-side SSRCs of browser participants: their frames are not relayed back into mediasoup. */
  private readonly browserSsrcs = new Set<number>();
  private readonly header = createRtpHeader();
  private readonly frame = inboundFrame(new Uint8Array(0));
  /** Packets relayed each way, for the tests and the metrics scrape. */
  readonly counts = { toMediasoup: 0, toNative: 0, dropped: 0 };

  private constructor(
    private readonly native: Router,
    private readonly socket: Socket,
    bridgeSsrc: number,
    private readonly log: Logger,
  ) {
    // The bridge as the native router sees it: one more receiver. The router hands it every native speaker's decrypted
    // frame (after the DAVE gate, through its own seq/ts rewriter, silence tails included), and it relays them as
    // plain RTP over loopback into the mediasoup router. Frames of browser speakers are skipped (in mediasoup already).
    this.transport = native.adoptTransport(
      new RelayTransport(
        bridgeSsrc,
        'webrtc-bridge',
        (f) => this.relayNative(f),
        () => this.close(),
      ),
    );
    this.participant = native.addParticipant(BRIDGE_USER_ID, this.transport);
    socket.on('message', (msg) => this.onMediasoupPacket(msg));
  }

  static async open(native: Router, bridgeSsrc: number, log: Logger): Promise<Bridge> {
    const socket = await bindLoopback(log, 'webrtc bridge');
    return new Bridge(native, socket, bridgeSsrc, log);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** (Re)attaches to a mediasoup router: a fresh PlainTransport there; the old router's went with it. */
  async attach(router: ms.Router): Promise<void> {
    this.plain = null;
    this.plainPort = 0;
    this.producers.clear();
    this.inbound.clear();
    const plain = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: LOOPBACK },
      rtcpMux: true,
      comedia: false,
    });
    await plain.connect({ ip: LOOPBACK, port: this.socket.address().port });
    if (this.isClosed) return plain.close();
    this.plain = plain;
    this.plainPort = plain.tuple.localPort;
  }

  /** Registers a native speaker: their frames enter mediasoup as a Producer with their SSRC. */
  async addNative(p: Participant): Promise<ms.Producer | null> {
    const plain = this.plain;
    if (!plain || this.producers.has(p.ssrc)) return this.producers.get(p.ssrc) ?? null;
    const producer = await plain.produce({
      kind: 'audio',
      rtpParameters: plainOpusParameters(p.ssrc, p.userId),
      appData: { userId: p.userId, userSsrc: p.ssrc },
    });
    if (this.plain !== plain || p.closed) {
      producer.close();
      return null;
    }
    this.producers.set(p.ssrc, producer);
    return producer;
  }

  removeNative(ssrc: number): void {
    this.producers.get(ssrc)?.close();
    this.producers.delete(ssrc);
  }

  /** Marks a native-side participant as a browser: it is heard from mediasoup, never relayed back into it. */
  markBrowser(ssrc: number, isBrowser: boolean): void {
    if (isBrowser) this.browserSsrcs.add(ssrc);
    else this.browserSsrcs.delete(ssrc);
  }

  /** Brings a browser's Producer into the native router as `participant`'s media. */
  async consumeBrowser(producer: ms.Producer, participant: Participant): Promise<ms.Consumer | null> {
    const plain = this.plain;
    if (!plain) return null;
    const consumer = await plain.consume({ producerId: producer.id, rtpCapabilities: CONSUMER_CAPABILITIES });
    const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    if (this.plain !== plain || participant.closed || ssrc === undefined) {
      consumer.close();
      return null;
    }
    this.inbound.set(ssrc, participant);
    consumer.observer.once('close', () => {
      if (this.inbound.get(ssrc) === participant) this.inbound.delete(ssrc);
    });
    return consumer;
  }

  /** Native router → mediasoup (BridgeTransport.send): plain RTP, Opus payload as it is. */
  relayNative(frame: OutgoingFrame): void {
    if (this.plainPort === 0 || this.browserSsrcs.has(frame.ssrc) || !this.producers.has(frame.ssrc)) {
      this.counts.dropped++;
      return;
    }
    // dgram keeps the buffer until the send completes, and the router reuses frame.data: copy into a fresh packet.
    const pkt = Buffer.allocUnsafe(RTP_FIXED_HEADER + frame.payloadLength);
    writeRtpHeader(pkt, WEBRTC_OPUS_PT, frame.marker, frame.sequence, frame.timestamp, frame.ssrc);
    const start = frame.offset + frame.extensionWords * 4;
    pkt.set(frame.data.subarray(start, start + frame.payloadLength), RTP_FIXED_HEADER);
    this.socket.send(pkt, this.plainPort, LOOPBACK);
    this.counts.toMediasoup++;
  }

  /** mediasoup → native router: a bridge consumer's packet becomes the browser participant's inbound frame. */
  private onMediasoupPacket(msg: Buffer): void {
    const f = this.frame;
    if (!readPlainRtp(msg, this.header, f)) return;
    const p = this.inbound.get(this.header.ssrc);
    if (!p || p.closed) return;
    this.counts.toNative++;
    this.native.forward(p, f, Date.now());
  }

  /** The mediasoup Producer of a native speaker (for browser consumers), if the bridge has one. */
  producerOf(ssrc: number): ms.Producer | undefined {
    return this.producers.get(ssrc);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.plain?.close();
    this.plain = null;
    this.plainPort = 0;
    this.producers.clear();
    this.inbound.clear();
    this.socket.close();
    this.transport.close();
    this.log.debug({ router: this.native.id }, 'webrtc bridge closed');
  }
}
