import { EventEmitter } from 'node:events';
import type { Router } from './router.ts';
import { SilenceTail } from './rtp/silence.ts';
import { StreamRewriter } from './rtp/stream-rewriter.ts';
import { StreamStats } from './stats.ts';
import type { Transport } from './transport.ts';

export interface ParticipantEvents {
  /** Its transport closed (by itself, by the signaling layer, or with the router); the participant is gone. Once. */
  transportclose: [];
}

/**
 * One user in a router: the transport their media uses, their inbound audio stream (the "producer" side) and one
 * StreamRewriter per sender they hear (the "consumer" side). Lives exactly as long as its transport.
 */
export class Participant extends EventEmitter<ParticipantEvents> {
  private muted = false;
  private deaf = false;
  private isClosed = false;
  readonly stats = new StreamStats();
  /** The transport's SSRC, copied: read per receiver per packet. */
  readonly ssrc: number;
  /** Talk-spurt tracking, to end the spurt of a speaker who vanished mid-talk without the silence tail. */
  readonly tail: SilenceTail;
  private readonly rewriters = new Map<number, StreamRewriter>();

  constructor(
    readonly router: Router,
    readonly userId: string,
    readonly transport: Transport,
    silenceGapMs?: number,
  ) {
    super();
    this.ssrc = transport.ssrc;
    this.tail = new SilenceTail(silenceGapMs);
  }

  get serverMuted(): boolean {
    return this.muted;
  }

  get deafened(): boolean {
    return this.deaf;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Router only: mute state (the router synthesises the tail first). */
  setServerMuted(muted: boolean): void {
    this.muted = muted;
  }

  setDeafened(deafened: boolean): void {
    this.deaf = deafened;
  }

  /** The rewriter for what this participant receives from `sender`, created on first use. */
  rewriterFor(sender: Participant): StreamRewriter {
    let rw = this.rewriters.get(sender.ssrc);
    if (!rw) {
      rw = new StreamRewriter();
      this.rewriters.set(sender.ssrc, rw);
    }
    return rw;
  }

  forgetSender(ssrc: number): void {
    this.rewriters.delete(ssrc);
  }

  /** Rewriters held for senders (leak accounting in tests and metrics). */
  get rewriterCount(): number {
    return this.rewriters.size;
  }

  /** Router only, when the transport closed. */
  transportClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.rewriters.clear();
    this.emit('transportclose');
    this.removeAllListeners();
  }
}
