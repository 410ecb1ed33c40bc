import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { types as ms } from 'mediasoup';
import type { Participant } from '../participant.ts';
import type { Router } from '../router.ts';
import { Bridge } from './bridge.ts';
import { BrowserPeer, BrowserTransport } from './browser-peer.ts';
import { ROUTER_CODECS } from './codec.ts';
import type { WebRtcMetrics } from './metrics.ts';
import type { RejoinReason } from './types.ts';
import type { PoolSlot, WorkerPool } from './worker-pool.ts';

export interface WebRtcChannelEvents {
  /** A browser speaker's audio level crossed the threshold (mediasoup AudioLevelObserver): speaking on / off. */
  speaking: [userId: string, speaking: boolean];
  /** The channel's mediasoup router moved to worker `slot` after its worker died; browsers were told to rejoin. */
  moved: [slot: number];
  close: [];
}

/** AudioLevelObserver settings: dBov above which a browser counts as speaking, checked every `interval` ms. */
const LEVEL_THRESHOLD = -70;
const LEVEL_INTERVAL_MS = 200;

/**
 * One voice channel's WebRTC half: a mediasoup Router (Opus 48 kHz stereo) on one pool worker, its browsers, its
 * AudioLevelObserver and the bridge into the native router (`native`), which stays the channel's one SSRC/user map:
 * browsers are participants there too. If the worker dies the router is re-created on another worker, the bridge
 * re-attaches (native clients keep talking to each other throughout) and every browser is told to rejoin.
 */
export class WebRtcChannel extends EventEmitter<WebRtcChannelEvents> {
  private router: ms.Router | null = null;
  private slot: PoolSlot | null = null;
  private observer: ms.AudioLevelObserver | null = null;
  private readonly peers = new Map<string, BrowserPeer>();
  /** Every mediasoup-side voice (browser microphones, attached sources) by user, for late-joining browsers. */
  private readonly speakers = new Map<string, { producer: ms.Producer; ssrc: number }>();
  private readonly speakingNow = new Set<string>();
  private isClosed = false;
  private ready: Promise<void>;

  private constructor(
    readonly key: string,
    readonly native: Router,
    readonly bridge: Bridge,
    private readonly pool: WorkerPool,
    private readonly log: Logger,
    private readonly metrics: WebRtcMetrics | null,
  ) {
    super();
    this.ready = this.place();
    native.observer.on('newparticipant', (p) => {
      this.onNativeJoin(p).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'bridging a native speaker failed'),
      );
    });
    native.observer.on('participantclose', (p) => this.onNativeLeave(p));
    native.observer.once('close', () => this.close('channel_closed'));
  }

  static async create(
    key: string,
    native: Router,
    pool: WorkerPool,
    log: Logger,
    metrics: WebRtcMetrics | null = null,
  ): Promise<WebRtcChannel> {
    const bridge = await Bridge.open(native, freeSsrc(native), log);
    const ch = new WebRtcChannel(key, native, bridge, pool, log, metrics);
    await ch.ready;
    return ch;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The pool slot (worker) hosting this channel now. */
  get workerSlot(): number {
    return this.slot?.index ?? -1;
  }

  get mediasoupRouter(): ms.Router | null {
    return this.router;
  }

  browser(userId: string): BrowserPeer | undefined {
    return this.peers.get(userId);
  }

  get browsers(): BrowserPeer[] {
    return [...this.peers.values()];
  }

  /**
   * Adds a browser: a WebRtcTransport on the worker's shared port, a participant in the native router with `ssrc`
   * (a fresh one when omitted), and consumers for everyone already speaking. A user already here leaves first.
   */
  async addBrowser(userId: string, ssrc?: number): Promise<BrowserPeer> {
    await this.ready;
    if (this.isClosed || !this.router || !this.slot) throw new Error(`channel ${this.key} is closed`);
    this.peers.get(userId)?.close();
    this.native.removeParticipant(userId);
    const router = this.router;
    const transport = await router.createWebRtcTransport({ webRtcServer: this.slot.server, enableUdp: true });
    const userSsrc = ssrc ?? freeSsrc(this.native);
    const peer = new BrowserPeer(userId, userSsrc, transport, {
      onProduce: (pp, producer) => this.onBrowserProduce(pp, producer),
      onClose: (pp) => this.onBrowserClose(pp),
    });
    this.peers.set(userId, peer);
    const nt = this.native.adoptTransport(new BrowserTransport(userSsrc, () => peer.close()));
    this.bridge.markBrowser(userSsrc, true);
    peer.participant = this.native.addParticipant(userId, nt);
    this.metrics?.browsers.inc();
    // Everyone already audible: native speakers through the bridge, browsers directly.
    for (const p of this.native.participants) {
      if (p.userId === userId || p === this.bridge.participant) continue;
      const producer = this.speakers.get(p.userId)?.producer ?? this.bridge.producerOf(p.ssrc);
      if (producer) await peer.consume(p.userId, p.ssrc, producer, true);
    }
    return peer;
  }

  /**
   * Makes a mediasoup Producer `userId`'s voice in this channel: a browser's microphone (BrowserPeer.produce calls
   * this), or any other source on this channel's router (a PlainTransport; the tests' stand-in for a browser). It is
   * watched by the audio-level observer, bridged into the native router (as a participant with `userSsrc`, created
   * unless the user is a browser here already) and consumed by every browser.
   */
  async attachSpeaker(userId: string, producer: ms.Producer, userSsrc?: number): Promise<Participant> {
    let part = this.native.participant(userId);
    if (!part || part.transport.kind !== 'webrtc') {
      const ssrc = userSsrc ?? freeSsrc(this.native);
      const nt = this.native.adoptTransport(new BrowserTransport(ssrc, () => producer.close()));
      this.bridge.markBrowser(ssrc, true);
      part = this.native.addParticipant(userId, nt);
    }
    this.speakers.set(userId, { producer, ssrc: part.ssrc });
    producer.observer.once('close', () => {
      if (this.speakers.get(userId)?.producer === producer) this.speakers.delete(userId);
    });
    await this.observer?.addProducer({ producerId: producer.id });
    await this.bridge.consumeBrowser(producer, part);
    for (const other of this.peers.values()) {
      if (other.userId !== userId) await other.consume(userId, part.ssrc, producer);
    }
    return part;
  }

  /** Mutes a browser for everyone (its producer pauses) and in the native router (its frames stop there too). */
  async setServerMute(userId: string, muted: boolean): Promise<void> {
    this.native.setServerMute(userId, muted);
    const producer = this.peers.get(userId)?.producer;
    if (producer) await (muted ? producer.pause() : producer.resume());
  }

  private async place(avoid?: PoolSlot): Promise<void> {
    let slot: PoolSlot;
    try {
      slot = this.pool.pick(avoid);
    } catch {
      // Every worker is down (one-core machines): wait for the pool's replacement.
      slot = await new Promise<PoolSlot>((resolve) => this.pool.once('workerrestarted', resolve));
    }
    const router = await slot.worker.createRouter({ mediaCodecs: ROUTER_CODECS });
    if (this.isClosed) return router.close();
    slot.routers++;
    router.once('workerclose', () => {
      slot.routers--;
      this.relocate(slot).catch((err: Error) => this.log.error({ err: err.message }, 're-creating the channel failed'));
    });
    const observer = await router.createAudioLevelObserver({
      maxEntries: 16,
      threshold: LEVEL_THRESHOLD,
      interval: LEVEL_INTERVAL_MS,
    });
    observer.on('volumes', (v) => this.onVolumes(v.map((e) => String(e.producer.appData.userId))));
    observer.on('silence', () => this.onVolumes([]));
    this.router = router;
    this.slot = slot;
    this.observer = observer;
    await this.bridge.attach(router);
    for (const p of this.native.participants) await this.onNativeJoin(p);
  }

  private async relocate(dead: PoolSlot): Promise<void> {
    if (this.isClosed) return;
    this.log.warn({ worker: dead.index }, 'mediasoup worker died: re-creating the channel');
    this.router = null;
    this.observer = null;
    this.onVolumes([]);
    for (const peer of [...this.peers.values()]) peer.rejoin('worker_died');
    // Other mediasoup-side sources died with the router; their owners re-attach them to the new one.
    for (const userId of [...this.speakers.keys()]) this.native.removeParticipant(userId);
    this.ready = this.place(dead);
    await this.ready;
    this.metrics?.channelsMoved.inc();
    if (this.slot) this.emit('moved', this.slot.index);
  }

  private async onNativeJoin(p: Participant): Promise<void> {
    if (p.transport.kind !== 'udp' || !this.router) return;
    const producer = await this.bridge.addNative(p);
    if (!producer) return;
    for (const peer of this.peers.values()) await peer.consume(p.userId, p.ssrc, producer);
  }

  private onNativeLeave(p: Participant): void {
    if (p.transport.kind === 'udp') this.bridge.removeNative(p.ssrc);
    if (p.transport.kind === 'webrtc') {
      this.bridge.markBrowser(p.ssrc, false);
      if (this.speakers.get(p.userId)?.ssrc === p.ssrc) this.speakers.delete(p.userId);
      if (this.speakingNow.delete(p.userId)) this.emit('speaking', p.userId, false);
    }
    // Browsers' consumers close with the producer ('producerclose'); a browser leaving closes its own peer.
    for (const peer of this.peers.values()) peer.dropConsumer(p.userId);
  }

  private async onBrowserProduce(peer: BrowserPeer, producer: ms.Producer): Promise<void> {
    await this.attachSpeaker(peer.userId, producer, peer.ssrc);
  }

  private onBrowserClose(peer: BrowserPeer): void {
    this.metrics?.browsers.dec();
    if (this.peers.get(peer.userId) === peer) this.peers.delete(peer.userId);
    for (const other of this.peers.values()) other.dropConsumer(peer.userId);
    // Leaves the native router too (no-op when the native side closed first).
    peer.participant?.transport.close();
  }

  private onVolumes(loud: string[]): void {
    const now = new Set(loud);
    for (const u of [...this.speakingNow]) {
      if (now.has(u)) continue;
      this.speakingNow.delete(u);
      this.emit('speaking', u, false);
    }
    for (const u of now) {
      if (this.speakingNow.has(u)) continue;
      this.speakingNow.add(u);
      this.emit('speaking', u, true);
    }
  }

  /** Closes the WebRTC half (browsers hear `rejoin`); the native router and its clients are left as they are. */
  close(reason: RejoinReason = 'channel_closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const peer of [...this.peers.values()]) peer.rejoin(reason);
    this.bridge.close();
    if (this.slot && this.router && !this.router.closed) this.slot.routers--;
    this.router?.close();
    this.router = null;
    this.emit('close');
    this.removeAllListeners();
  }
}

/** An SSRC no participant of `native` uses (native SSRCs come from the Sfu's table, random in the same space). */
function freeSsrc(native: Router): number {
  const used = new Set(native.participants.map((p) => p.ssrc));
  let ssrc: number;
  do ssrc = randomInt(1, 0xffffffff);
  while (used.has(ssrc));
  return ssrc;
}
