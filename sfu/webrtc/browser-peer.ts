import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';
import type { Participant } from '../participant.ts';
import { Transport, type OutgoingFrame } from '../transport.ts';
import { AUDIO_LEVEL_URI, CONSUMER_CAPABILITIES, MID_URI } from './codec.ts';
import type {
  BrowserProduceParams,
  ConsumerInfo,
  DtlsRole,
  LocalParameters,
  RejoinReason,
  RemoteDtls,
} from './types.ts';

/**
 * A browser as the native router sees it: a participant whose media enters through the bridge (as it arrives from
 * mediasoup) and leaves through mediasoup consumers, so the router's per-receiver send is a no-op here.
 */
export class BrowserTransport extends Transport {
  readonly kind = 'webrtc';

  constructor(
    ssrc: number,
    private readonly onRelease: () => void,
  ) {
    super(ssrc);
  }

  send(_frame: OutgoingFrame): void {
    // Browsers hear everyone through their mediasoup consumers.
  }

  protected release(): void {
    this.onRelease();
  }
}

export interface BrowserPeerEvents {
  /** A new stream for this browser (someone else started producing); add an m-line for it. */
  consumer: [ConsumerInfo];
  /** A stream ended (its speaker left); its m-line may be recycled. */
  consumerclose: [{ userId: string; mid: string }];
  /** DTLS progress; 'failed' means the browser's fingerprint did not match (or DTLS broke): close its session. */
  dtlsstate: ['connecting' | 'connected' | 'failed' | 'closed'];
  /** The browser must reconnect (its channel moved to another worker, or closed). Emitted once, before `close`. */
  rejoin: [RejoinReason];
  close: [];
}

/**
 * One browser in a channel: its WebRtcTransport (ICE-lite, DTLS, on the worker's shared WebRtcServer port), its
 * microphone Producer and one Consumer per other speaker. Created by `WebRtcChannel.addBrowser`.
 */
export class BrowserPeer extends EventEmitter<BrowserPeerEvents> {
  private producerRef: ms.Producer | null = null;
  private readonly consumersByUser = new Map<string, { consumer: ms.Consumer; info: ConsumerInfo }>();
  private nextMid = 1;
  private isClosed = false;
  private deaf = false;
  readonly local: LocalParameters;
  /** Set by the channel once the peer joined the native router. */
  participant: Participant | null = null;

  constructor(
    readonly userId: string,
    /** The user's SSRC in the channel's SSRC/user map (what native clients see in op 5). */
    readonly ssrc: number,
    readonly transport: ms.WebRtcTransport,
    private readonly hooks: {
      onProduce(peer: BrowserPeer, producer: ms.Producer): Promise<void>;
      onClose(peer: BrowserPeer): void;
    },
  ) {
    super();
    this.local = {
      ice: {
        usernameFragment: transport.iceParameters.usernameFragment,
        password: transport.iceParameters.password,
        iceLite: true,
      },
      candidates: transport.iceCandidates.map((c) => ({
        foundation: c.foundation,
        priority: c.priority,
        address: c.address,
        port: c.port,
        protocol: c.protocol,
        type: 'host' as const,
      })),
      fingerprints: transport.dtlsParameters.fingerprints.map((f) => ({ algorithm: f.algorithm, value: f.value })),
      dtlsRole: (transport.dtlsParameters.role ?? 'auto') as DtlsRole,
    };
    transport.on('dtlsstatechange', (state) => {
      if (state !== 'new' && !this.isClosed) this.emit('dtlsstate', state);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get producer(): ms.Producer | null {
    return this.producerRef;
  }

  /** Streams this browser receives now, in mid order. */
  get consumers(): ConsumerInfo[] {
    return [...this.consumersByUser.values()].map((c) => c.info).sort((a, b) => Number(a.mid) - Number(b.mid));
  }

  /** Completes DTLS with the browser's fingerprints; a wrong fingerprint makes the handshake (not this call) fail. */
  async connect(remote: RemoteDtls): Promise<void> {
    await this.transport.connect({
      dtlsParameters: { role: remote.role ?? 'client', fingerprints: remote.fingerprints.map((f) => ({ ...f })) },
    } as { dtlsParameters: ms.DtlsParameters });
  }

  /** The browser's microphone: one Producer, heard by other browsers directly and by native clients via the bridge. */
  async produce(p: BrowserProduceParams): Promise<void> {
    if (this.producerRef) throw new Error(`${this.userId} already produces`);
    const headerExtensions: ms.RtpHeaderExtensionParameters[] = [];
    if (p.midExtId) headerExtensions.push({ uri: MID_URI, id: p.midExtId });
    if (p.audioLevelExtId) headerExtensions.push({ uri: AUDIO_LEVEL_URI, id: p.audioLevelExtId });
    const producer = await this.transport.produce({
      kind: 'audio',
      rtpParameters: {
        mid: p.mid,
        codecs: [
          {
            mimeType: 'audio/opus',
            clockRate: 48000,
            channels: 2,
            payloadType: p.payloadType,
            parameters: { ...(p.fmtp ?? {}) },
          },
        ],
        encodings: [{ ssrc: p.ssrc }],
        headerExtensions,
        rtcp: { cname: p.cname ?? this.userId, reducedSize: true },
      },
      appData: { userId: this.userId, userSsrc: this.ssrc },
    });
    if (this.isClosed) return producer.close();
    this.producerRef = producer;
    await this.hooks.onProduce(this, producer);
  }

  /** Adds a stream from `userId` (channel only); emits `consumer` unless `silent` (initial set). */
  async consume(userId: string, userSsrc: number, producer: ms.Producer, silent = false): Promise<ConsumerInfo | null> {
    if (this.isClosed || userId === this.userId) return null;
    this.dropConsumer(userId);
    const mid = String(this.nextMid++);
    const consumer = await this.transport.consume({
      producerId: producer.id,
      rtpCapabilities: CONSUMER_CAPABILITIES,
      mid,
      paused: this.deaf,
    });
    if (this.isClosed) {
      consumer.close();
      return null;
    }
    const rtp = consumer.rtpParameters;
    const info: ConsumerInfo = {
      userId,
      userSsrc,
      ssrc: rtp.encodings?.[0]?.ssrc ?? 0,
      mid,
      payloadType: rtp.codecs[0].payloadType,
      cname: rtp.rtcp?.cname ?? userId,
    };
    this.consumersByUser.set(userId, { consumer, info });
    consumer.on('producerclose', () => this.dropConsumer(userId));
    if (!silent) this.emit('consumer', info);
    return info;
  }

  dropConsumer(userId: string): void {
    const c = this.consumersByUser.get(userId);
    if (!c) return;
    this.consumersByUser.delete(userId);
    c.consumer.close();
    if (!this.isClosed) this.emit('consumerclose', { userId, mid: c.info.mid });
  }

  /** Deafened browsers get nothing: their consumers pause (mediasoup stops sending). */
  async setDeafened(deafened: boolean): Promise<void> {
    this.deaf = deafened;
    await Promise.all(
      [...this.consumersByUser.values()].map((c) => (deafened ? c.consumer.pause() : c.consumer.resume())),
    );
  }

  /** Tells the browser to reconnect, then closes (the signaling side turns `rejoin` into its close code). */
  rejoin(reason: RejoinReason): void {
    if (this.isClosed) return;
    this.emit('rejoin', reason);
    this.close();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.consumersByUser.clear();
    if (!this.transport.closed) this.transport.close();
    this.hooks.onClose(this);
    this.emit('close');
    this.removeAllListeners();
  }
}
