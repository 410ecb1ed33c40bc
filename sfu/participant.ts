import { SilenceTail } from './rtp/silence.ts';
import { StreamRewriter } from './rtp/stream-rewriter.ts';
import { StreamStats } from './stats.ts';
import type { Transport } from './transport.ts';

/**
 * One user in a router: the transport their media uses, their inbound audio stream (the "producer" side) and one
 * StreamRewriter per sender they hear (the "consumer" side).
 */
export class Participant {
  serverMuted = false;
  deafened = false;
  readonly stats = new StreamStats();
  /** Talk-spurt tracking, to end the spurt of a speaker who vanished mid-talk without the silence tail. */
  readonly tail: SilenceTail;
  /** Free-form per-participant state other layers attach (e.g. the DAVE media gate's view of membership). */
  readonly tags = new Map<string, unknown>();
  private readonly rewriters = new Map<number, StreamRewriter>();

  constructor(
    readonly userId: string,
    readonly ssrc: number,
    readonly transport: Transport,
    silenceGapMs?: number,
  ) {
    this.tail = new SilenceTail(silenceGapMs);
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
}
