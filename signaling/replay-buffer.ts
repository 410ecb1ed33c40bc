/**
 * The v8 buffered-resume store of one session: every sequenced message the server sent, until the client
 * acknowledges it. One 16-bit counter covers JSON and binary frames; JSON seq 0 is never used because
 * @discordjs/voice ignores it, so the counter runs 1…65535 and wraps to 1.
 */
export type Frame = string | Buffer;

export class ReplayBuffer {
  private readonly seqs: number[] = [];
  private readonly frames: Frame[] = [];
  private last = 0;

  constructor(private readonly capacity = 512) {}

  /** The seq the next message gets. */
  nextSeq(): number {
    this.last = this.last >= 0xffff ? 1 : this.last + 1;
    return this.last;
  }

  get lastSeq(): number {
    return this.last;
  }

  push(seq: number, frame: Frame): void {
    this.seqs.push(seq);
    this.frames.push(frame);
    if (this.seqs.length > this.capacity) {
      this.seqs.shift();
      this.frames.shift();
    }
  }

  /** Drops everything the client has acknowledged (seq_ack), tolerating wrap-around. */
  ack(seqAck: number): void {
    const idx = this.indexOf(seqAck);
    if (idx < 0) return;
    this.seqs.splice(0, idx + 1);
    this.frames.splice(0, idx + 1);
  }

  /**
   * Messages after `seqAck` to re-send on resume, or null when some of them are no longer buffered (the client must
   * then start a new session). seqAck -1 / undefined means the client saw nothing.
   */
  since(seqAck: number | undefined): Frame[] | null {
    if (seqAck === undefined || seqAck < 0) {
      return this.seqs.length === 0 || this.seqs[0] === 1 ? [...this.frames] : null;
    }
    if (seqAck === this.last) return [];
    const idx = this.indexOf(seqAck);
    if (idx >= 0) return this.frames.slice(idx + 1);
    // Not buffered: fine only if the next one after it is the oldest we still hold.
    const next = seqAck >= 0xffff ? 1 : seqAck + 1;
    return this.seqs[0] === next ? [...this.frames] : null;
  }

  private indexOf(seq: number): number {
    for (let i = this.seqs.length - 1; i >= 0; i--) if (this.seqs[i] === seq) return i;
    return -1;
  }
}
