import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { E2eeGate } from './e2ee-gate.ts';
import type { ChannelMedia, E2eeGroupSource, MediaTransport } from './media-plane.ts';
import { OPUS_PAYLOAD_TYPE } from './rtp/rtp-header.ts';
import { DEFAULT_SILENCE_GAP_MS, isOpusSilence, OPUS_SILENCE_FRAME, type SilenceSynthesis } from './rtp/silence.ts';
import { Participant } from './participant.ts';
import type { SfuMetrics } from './stats.ts';
import { Transport, type OutgoingFrame } from './transport.ts';
import type { UdpTransport } from './udp/udp-transport.ts';

const OPUS_SILENCE = Uint8Array.from(OPUS_SILENCE_FRAME);

/**
 * Decides per (sender, receiver) whether a frame may be delivered; the DAVE layer installs one so E2EE frames never
 * reach receivers outside the group and plain frames from pending members never reach established ones.
 */
export interface MediaGate {
  allow(sender: Participant, receiver: Participant, payload: Uint8Array, offset: number, length: number): boolean;
}

/** An inbound frame after transport decryption, handed from a transport to its router. */
export interface InboundFrame {
  sequence: number;
  timestamp: number;
  marker: boolean;
  /** Extension body words to pass on (0 when absent or not a one-byte 0xBEDE extension). */
  extensionWords: number;
  data: Uint8Array;
  /** Start of the extension body (if passed on) or of the Opus payload. */
  offset: number;
  payloadOffset: number;
  payloadLength: number;
}

/** A frame whose Opus payload is all of `data` (no extension): the transports' reusable record, benches and tests. */
export function inboundFrame(data: Uint8Array, sequence = 0, timestamp = 0): InboundFrame {
  return {
    sequence,
    timestamp,
    marker: false,
    extensionWords: 0,
    data,
    offset: 0,
    payloadOffset: 0,
    payloadLength: data.length,
  };
}

/** Makes UDP transports for a router: the Sfu, which owns the socket and the SSRC table. */
export interface UdpTransportFactory {
  createUdpTransport(ssrc?: number): UdpTransport;
  /** The UDP port its transports share. */
  readonly port: number;
}

/** What the router's owner hears. */
export interface RouterEvents {
  /** The SFU (mediasoup's worker) closed and closed this router with it. Once. */
  workerclose: [];
  /** Internal, for the Sfu's router table: the router closed for whatever reason. Once. */
  '@close': [];
}

/** What monitoring hears; nothing here is needed to run the router. */
export interface RouterObserverEvents {
  newtransport: [Transport];
  newparticipant: [Participant];
  participantclose: [Participant];
  /** A sender's talk spurt opened (true) or closed (false), as the SFU sees it from the media. */
  speaking: [Participant, boolean];
  close: [];
}

export interface RouterOptions {
  /** How a sender's abandoned talk spurt gets its silence tail (see SilenceSynthesis). Default 'gap'. */
  silence?: SilenceSynthesis;
  /** Quiet time that counts as abandonment ('gap') or as a vanished sender ('vanish'). */
  silenceGapMs?: number;
}

/**
 * A voice channel's media router: who hears whom. It owns its transports (created with `createTransport`) and the
 * participants on them; closing it closes them all, each hearing it once. Every frame from a speaker goes to each
 * other participant who is not deafened, through that receiver's own sequence/timestamp rewriter.
 */
export class Router extends EventEmitter<RouterEvents> implements ChannelMedia {
  readonly observer = new EventEmitter<RouterObserverEvents>();
  private gate: MediaGate | null = null;
  private isClosed = false;
  private readonly transports = new Set<Transport>();
  private readonly members: Participant[] = [];
  private readonly byUser = new Map<string, Participant>();
  private readonly silence: SilenceSynthesis;
  private readonly silenceGapMs: number;
  private readonly frame: OutgoingFrame = {
    ssrc: 0,
    sequence: 0,
    timestamp: 0,
    marker: false,
    payloadType: OPUS_PAYLOAD_TYPE,
    extensionWords: 0,
    data: OPUS_SILENCE,
    offset: 0,
    payloadLength: 0,
  };

  constructor(
    readonly id: string,
    private readonly metrics: SfuMetrics,
    private readonly log: Logger,
    opts: RouterOptions = {},
    private readonly udp: UdpTransportFactory | null = null,
  ) {
    super();
    this.silence = opts.silence ?? 'gap';
    this.silenceGapMs = opts.silenceGapMs ?? DEFAULT_SILENCE_GAP_MS;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** ChannelMedia: the UDP port of this router's Sfu (0 without a UDP plane). */
  get port(): number {
    return this.udp?.port ?? 0;
  }

  /** ChannelMedia: an in-process router is no worker's. */
  readonly workerId = 0;

  get local(): Router {
    return this;
  }

  /** ChannelMedia: browsers bridge into this router directly. */
  async browserRouter(): Promise<Router> {
    return this;
  }

  /** ChannelMedia: the gate reads the group itself, so it is always current. */
  setE2eeGroup(group: E2eeGroupSource | null): void {
    this.setGate(group ? new E2eeGate(group) : null);
  }

  syncE2eeMembers(): void {}

  /** ChannelMedia: this process cannot outlive its own router's host. */
  onWorkerDied(_listener: () => void): void {}

  get participants(): readonly Participant[] {
    return this.members;
  }

  get transportCount(): number {
    return this.transports.size;
  }

  participant(userId: string): Participant | undefined {
    return this.byUser.get(userId);
  }

  /** Installs (or with null removes) the per-frame delivery gate. */
  setGate(gate: MediaGate | null): void {
    this.gate = gate;
  }

  get mediaGate(): MediaGate | null {
    return this.gate;
  }

  /** A native UDP transport with a fresh SSRC, owned by this router; reachable by IP discovery at once. */
  createTransport(ssrc?: number): UdpTransport {
    if (!this.udp) throw new Error(`router ${this.id} has no UDP plane`);
    return this.adoptTransport(this.udp.createUdpTransport(ssrc));
  }

  /** Takes ownership of a transport built outside the UDP plane (e.g. around a mediasoup WebRtcTransport). */
  adoptTransport<T extends Transport>(transport: T): T {
    if (this.isClosed) {
      transport.close();
      throw new Error(`router ${this.id} is closed`);
    }
    this.transports.add(transport);
    transport.once('@close', () => this.onTransportClosed(transport));
    this.observer.emit('newtransport', transport);
    return transport;
  }

  /** Puts `userId` on `transport` (one of this router's); a participant the user already had leaves first. */
  addParticipant(userId: string, transport: Transport | MediaTransport): Participant {
    if (this.isClosed) throw new Error(`router ${this.id} is closed`);
    if (!(transport instanceof Transport) || !this.transports.has(transport))
      throw new Error(`transport ${transport.ssrc} is not owned by ${this.id}`);
    if (transport.participant) throw new Error(`transport ${transport.ssrc} already carries a participant`);
    this.removeParticipant(userId);
    const gap = this.silence === 'off' ? Infinity : this.silenceGapMs;
    const p = new Participant(this, userId, transport, gap);
    transport.participant = p;
    this.members.push(p);
    this.byUser.set(userId, p);
    this.metrics.participants.inc();
    this.observer.emit('newparticipant', p);
    return p;
  }

  /** Closes the user's transport; the participant goes with it. */
  removeParticipant(userId: string): void {
    this.byUser.get(userId)?.transport.close();
  }

  private onTransportClosed(transport: Transport): void {
    this.transports.delete(transport);
    const p = transport.participant;
    transport.participant = null;
    if (!p || this.byUser.get(p.userId) !== p) return;
    // A speaker cut off mid-word still ends their spurt cleanly for every listener.
    if (this.silence !== 'off' && !this.isClosed) this.synthesizeTail(p, p.tail.end(), Date.now());
    this.byUser.delete(p.userId);
    this.members.splice(this.members.indexOf(p), 1);
    for (const other of this.members) other.forgetSender(p.ssrc);
    this.metrics.participants.dec();
    const labels = { ssrc: String(p.ssrc) };
    for (const g of [
      this.metrics.streamPackets,
      this.metrics.streamBytes,
      this.metrics.streamLost,
      this.metrics.streamReordered,
      this.metrics.streamJitter,
      this.metrics.streamDecryptFailures,
    ]) {
      g.remove(labels);
    }
    p.transportClosed();
    this.observer.emit('participantclose', p);
  }

  setServerMute(userId: string, muted: boolean, now = Date.now()): void {
    const p = this.byUser.get(userId);
    if (!p || p.serverMuted === muted) return;
    // Muting someone mid-word must still end their spurt cleanly for every listener.
    if (muted && this.silence !== 'off') this.synthesizeTail(p, p.tail.end(), now);
    p.setServerMuted(muted);
  }

  setDeafened(userId: string, deafened: boolean): void {
    this.byUser.get(userId)?.setDeafened(deafened);
  }

  /**
   * The sender said it stopped speaking (op 5 with no flags). A client that sent its own tail owes nothing; one that
   * went quiet mid-spurt gets the tail now, which is the case 'vanish' synthesis waits for.
   */
  speakingEnded(userId: string, now = Date.now()): void {
    const p = this.byUser.get(userId);
    if (!p || this.silence === 'off') return;
    this.synthesizeTail(p, p.tail.end(), now);
  }

  /** Forwards one decrypted frame from `sender` to everyone else who may hear it. */
  forward(sender: Participant, f: InboundFrame, now: number): void {
    sender.stats.onPacket(f.sequence, f.timestamp, f.payloadLength, now);
    if (!sender.serverMuted) {
      const was = sender.tail.talking;
      sender.tail.onPacket(isOpusSilence(f.data, f.payloadOffset, f.payloadLength), now);
      if (sender.tail.talking !== was) this.observer.emit('speaking', sender, !was);
    }

    const frame = this.frame;
    frame.ssrc = sender.ssrc;
    frame.marker = f.marker;
    frame.payloadType = OPUS_PAYLOAD_TYPE;
    frame.extensionWords = f.extensionWords;
    frame.data = f.data;
    frame.offset = f.offset;
    frame.payloadLength = f.payloadLength;
    const gate = this.gate;
    const members = this.members;
    const counts = this.metrics.counts;
    for (let i = 0; i < members.length; i++) {
      const r = members[i];
      if (r === sender || r.deafened) continue;
      const rw = r.rewriterFor(sender);
      if (sender.serverMuted) {
        rw.drop(f.sequence);
        continue;
      }
      if (gate && !gate.allow(sender, r, f.data, f.payloadOffset, f.payloadLength)) {
        rw.drop(f.sequence);
        this.metrics.drop('e2ee_gate');
        continue;
      }
      if (!rw.forward(f.sequence, f.timestamp)) {
        this.metrics.drop('late');
        continue;
      }
      frame.sequence = rw.seq;
      frame.timestamp = rw.timestamp;
      r.transport.send(frame);
      counts.forwarded++;
      counts.forwardedPayloadBytes += f.payloadLength;
    }
    if (sender.serverMuted) this.metrics.drop('server_muted');
  }

  /** Ends the spurts of speakers who went quiet without sending the silence tail themselves. */
  tick(now: number): void {
    if (this.silence === 'off') return;
    for (const p of this.members) {
      const owed = p.tail.poll(now);
      if (owed > 0) this.synthesizeTail(p, owed, now);
    }
  }

  private synthesizeTail(sender: Participant, frames: number, now: number): void {
    if (frames === 0) return;
    this.observer.emit('speaking', sender, false);
    const frame = this.frame;
    frame.ssrc = sender.ssrc;
    frame.marker = false;
    frame.extensionWords = 0;
    frame.data = OPUS_SILENCE;
    frame.offset = 0;
    frame.payloadLength = OPUS_SILENCE.length;
    for (const r of this.members) {
      if (r === sender || r.deafened) continue;
      const rw = r.rewriterFor(sender);
      // A receiver that never heard this spurt needs no tail (and would see it start from nowhere).
      if (!rw.emitted) continue;
      for (let k = 0; k < frames; k++) {
        rw.insertSilence();
        frame.sequence = rw.seq;
        frame.timestamp = rw.timestamp;
        r.transport.send(frame);
        this.metrics.counts.silenceSynthesized++;
      }
    }
    this.log.debug({ router: this.id, user: sender.userId, at: now, frames }, 'synthesized silence tail');
  }

  /** Publishes per-stream receive statistics to the metrics registry (called on scrape, not per packet). */
  publishStats(): void {
    for (const p of this.members) {
      const labels = { ssrc: String(p.ssrc) };
      this.metrics.streamPackets.set(labels, p.stats.packets);
      this.metrics.streamBytes.set(labels, p.stats.bytes);
      this.metrics.streamLost.set(labels, p.stats.lost);
      this.metrics.streamReordered.set(labels, p.stats.reordered);
      this.metrics.streamJitter.set(labels, p.stats.jitterMs);
      this.metrics.streamDecryptFailures.set(labels, p.stats.decryptFailures);
    }
  }

  /** Closes every transport (each hears `routerclose`, each participant `transportclose`), then the router. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const t of [...this.transports]) t.routerClosed();
    this.gate = null;
    this.emit('@close');
    this.observer.emit('close');
    this.removeAllListeners();
    this.observer.removeAllListeners();
  }

  /** Called by the Sfu as it closes. */
  workerClosed(): void {
    if (this.isClosed) return;
    this.emit('workerclose');
    this.close();
  }
}
