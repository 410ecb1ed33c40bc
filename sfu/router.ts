import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { OPUS_PAYLOAD_TYPE } from './rtp/rtp-header.ts';
import { isOpusSilence, OPUS_SILENCE_FRAME } from './rtp/silence.ts';
import { Participant } from './participant.ts';
import type { SfuMetrics } from './stats.ts';
import type { OutgoingFrame, Transport } from './transport.ts';

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

export interface RouterEvents {
  participantadded: [Participant];
  participantremoved: [Participant];
  close: [];
}

/**
 * A voice channel's media router: who hears whom. Every frame from a speaker goes to each other participant who is
 * not deafened, through that receiver's own sequence/timestamp rewriter.
 */
export class Router extends EventEmitter<RouterEvents> {
  closed = false;
  gate: MediaGate | null = null;
  private readonly members: Participant[] = [];
  private readonly byUser = new Map<string, Participant>();
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
    private readonly silenceGapMs?: number,
  ) {
    super();
  }

  get participants(): readonly Participant[] {
    return this.members;
  }

  participant(userId: string): Participant | undefined {
    return this.byUser.get(userId);
  }

  addParticipant(userId: string, ssrc: number, transport: Transport): Participant {
    if (this.closed) throw new Error(`router ${this.id} is closed`);
    this.removeParticipant(userId);
    const p = new Participant(userId, ssrc, transport, this.silenceGapMs);
    this.members.push(p);
    this.byUser.set(userId, p);
    this.metrics.participants.inc();
    this.emit('participantadded', p);
    return p;
  }

  removeParticipant(userId: string): void {
    const p = this.byUser.get(userId);
    if (!p) return;
    this.byUser.delete(userId);
    this.members.splice(this.members.indexOf(p), 1);
    for (const other of this.members) other.forgetSender(p.ssrc);
    p.transport.close();
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
    this.emit('participantremoved', p);
  }

  setServerMute(userId: string, muted: boolean, now = Date.now()): void {
    const p = this.byUser.get(userId);
    if (!p || p.serverMuted === muted) return;
    // Muting someone mid-word must still end their spurt cleanly for every listener.
    if (muted) this.synthesizeTail(p, p.tail.end(), now);
    p.serverMuted = muted;
  }

  setDeafened(userId: string, deafened: boolean): void {
    const p = this.byUser.get(userId);
    if (p) p.deafened = deafened;
  }

  /** Forwards one decrypted frame from `sender` to everyone else who may hear it. */
  forward(sender: Participant, f: InboundFrame, now: number): void {
    sender.stats.onPacket(f.sequence, f.timestamp, f.payloadLength, now);
    if (!sender.serverMuted) sender.tail.onPacket(isOpusSilence(f.data, f.payloadOffset, f.payloadLength), now);

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
    for (const p of this.members) {
      const owed = p.tail.poll(now);
      if (owed > 0) this.synthesizeTail(p, owed, now);
    }
  }

  private synthesizeTail(sender: Participant, frames: number, now: number): void {
    if (frames === 0) return;
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

  close(): void {
    if (this.closed) return;
    for (const p of [...this.members]) this.removeParticipant(p.userId);
    this.closed = true;
    this.emit('close');
    this.removeAllListeners();
  }
}
