/**
 * Per-(sender, receiver) RTP sequence/timestamp rewriting. Plain forwarding keeps the sender's numbers; only when
 * the SFU drops a packet for one receiver, or inserts synthetic ones (silence tails), do that receiver's numbers
 * shift, so every receiver sees a gap-free sequence (voice-protocol.md §4 "SFU across gaps"):
 *   out_seq = in_seq + off (mod 2^16), out_ts = in_ts + tsOff (mod 2^32)
 *   drop  → off −= 1 from the next input on;  insert k → they take lastOut+1…, then off += k
 *   a real timestamp that would not move forward after inserted silence is shifted to lastTs + 960·steps.
 * Offsets change at input-sequence boundaries; a short history of (boundary, offsets) lets a late, reordered packet
 * map with the offsets that were in force for its sequence number, so it lands in its own slot. Nothing allocates
 * per packet: results are read from `seq` / `timestamp` right after each call.
 */

/** 20 ms of 48 kHz audio: what @discordjs/voice adds per packet. */
export const FRAME_TIMESTAMP_STEP = 960;
/** A packet this far behind the newest is not "late" but a restarted sender (new random sequence). */
const MAX_LATE = 1024;
/** A forward jump this large is also treated as a restart, which keeps all serial comparisons inside ±2^15. */
const MAX_JUMP = 16384;
/** Offset changes remembered for late packets; older boundaries collapse into the oldest kept one. */
const HISTORY = 16;

/** a − b for 16-bit sequence numbers, in [−32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** a − b for 32-bit timestamps, as a signed 32-bit number. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class StreamRewriter {
  /** Output seq/ts of the last call to forward() or insertSilence(); read right after the call (no allocation). */
  seq = 0;
  timestamp = 0;

  private hasOutput = false;
  /** Newest output emitted (real or synthetic). */
  private lastOutSeq = 0;
  private lastOutTs = 0;
  private hasInput = false;
  /** Newest input sequence seen (forwarded or deliberately dropped). */
  private highestIn = 0;

  /** Ring of offset segments, newest at `head`: segment i applies to input seqs from segStart[i] on. */
  private readonly segStart = new Uint16Array(HISTORY);
  private readonly segSeqOff = new Uint16Array(HISTORY);
  private readonly segTsOff = new Uint32Array(HISTORY);
  private head = 0;
  private count = 0;

  /** Whether anything (real or synthetic) was emitted to this receiver yet; a silence tail for a receiver that
   * never heard the sender is pointless, and would start a numbering of its own. */
  get emitted(): boolean {
    return this.hasOutput;
  }

  /**
   * A real packet with input seq/ts is forwarded to this receiver: compute output seq/ts into this.seq/this.timestamp.
   * Returns false if the packet is older than something already emitted in a way that cannot be mapped (drop it).
   */
  forward(inSeq: number, inTimestamp: number): boolean {
    inSeq &= 0xffff;
    inTimestamp >>>= 0;
    if (!this.hasInput) {
      this.anchor(inSeq, inTimestamp);
      return true;
    }
    const d = seqDiff(inSeq, this.highestIn);
    if (d === 0) return false;
    if (d > MAX_JUMP || d < -MAX_LATE) {
      this.anchor(inSeq, inTimestamp);
      return true;
    }
    if (d < 0) return this.forwardLate(inSeq, inTimestamp);

    const h = this.head;
    const outSeq = (inSeq + this.segSeqOff[h]) & 0xffff;
    let outTs = (inTimestamp + this.segTsOff[h]) >>> 0;
    if (tsDiff(outTs, this.lastOutTs) <= 0) {
      // Only after inserted silence can a real timestamp fail to move forward: shift this and later packets.
      const steps = Math.max(1, seqDiff(outSeq, this.lastOutSeq));
      outTs = (this.lastOutTs + FRAME_TIMESTAMP_STEP * steps) >>> 0;
      this.push(inSeq, this.segSeqOff[h], (outTs - inTimestamp) >>> 0);
    }
    this.advanceInput(inSeq);
    this.emit(outSeq, outTs);
    return true;
  }

  /** The packet with this input seq is deliberately not sent to this receiver (keeps later output contiguous). */
  drop(inSeq: number): void {
    // Before anything was sent there is no sequence to keep contiguous; the first forwarded packet anchors it.
    if (!this.hasOutput || !this.hasInput) return;
    inSeq &= 0xffff;
    const d = seqDiff(inSeq, this.highestIn);
    if (d <= 0 || d > MAX_JUMP) return;
    const h = this.head;
    const seqOff = (this.segSeqOff[h] - 1) & 0xffff;
    // When the newest segment starts at this very packet, nothing was mapped with it: move it instead of adding one.
    if (this.segStart[h] === inSeq) {
      this.segStart[h] = (inSeq + 1) & 0xffff;
      this.segSeqOff[h] = seqOff;
    } else {
      this.push((inSeq + 1) & 0xffff, seqOff, this.segTsOff[h]);
    }
    this.advanceInput(inSeq);
  }

  /** Emit one synthetic packet right after the last output (seq+1, timestamp+960); result in this.seq/this.timestamp. */
  insertSilence(): void {
    if (!this.hasOutput) {
      // Nothing real was sent yet: start a fresh numbering; the first real packet continues after it.
      this.hasOutput = true;
      this.lastOutSeq = this.seq = 0;
      this.lastOutTs = this.timestamp = 0;
      return;
    }
    // Slots of packets lost upstream (still expected late) stay reserved: silence goes after them.
    const headOut = this.hasInput ? (this.highestIn + this.segSeqOff[this.head]) & 0xffff : this.lastOutSeq;
    const outSeq = (headOut + 1) & 0xffff;
    const steps = Math.max(1, seqDiff(outSeq, this.lastOutSeq));
    const outTs = (this.lastOutTs + FRAME_TIMESTAMP_STEP * steps) >>> 0;
    if (this.hasInput)
      this.push((this.highestIn + 1) & 0xffff, (outSeq - this.highestIn) & 0xffff, this.segTsOff[this.head]);
    this.emit(outSeq, outTs);
  }

  /** First packet, or a sender that restarted its numbering: continue right after the last output. */
  private anchor(inSeq: number, inTs: number): void {
    this.count = 0;
    if (this.hasOutput) {
      const outSeq = (this.lastOutSeq + 1) & 0xffff;
      const outTs = (this.lastOutTs + FRAME_TIMESTAMP_STEP) >>> 0;
      this.push(inSeq, (outSeq - inSeq) & 0xffff, (outTs - inTs) >>> 0);
    } else {
      this.push(inSeq, 0, 0);
    }
    this.hasInput = true;
    this.highestIn = inSeq;
    this.emit((inSeq + this.segSeqOff[this.head]) & 0xffff, (inTs + this.segTsOff[this.head]) >>> 0);
  }

  private forwardLate(inSeq: number, inTs: number): boolean {
    for (let k = 0; k < this.count; k++) {
      const i = (this.head - k + HISTORY) % HISTORY;
      if (seqDiff(inSeq, this.segStart[i]) >= 0) {
        this.emit((inSeq + this.segSeqOff[i]) & 0xffff, (inTs + this.segTsOff[i]) >>> 0);
        return true;
      }
    }
    return false;
  }

  private emit(outSeq: number, outTs: number): void {
    this.seq = outSeq;
    this.timestamp = outTs;
    if (!this.hasOutput || seqDiff(outSeq, this.lastOutSeq) > 0) {
      this.hasOutput = true;
      this.lastOutSeq = outSeq;
      this.lastOutTs = outTs;
    }
  }

  /** Records a newer input and forgets boundaries older than the late-packet horizon. */
  private advanceInput(inSeq: number): void {
    this.highestIn = inSeq;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head - k + HISTORY) % HISTORY;
      if (seqDiff(inSeq, this.segStart[i]) > MAX_LATE) {
        // This segment covers every input a late packet may still have; older ones are unreachable.
        this.segStart[i] = (inSeq - MAX_LATE) & 0xffff;
        this.count = k + 1;
        return;
      }
    }
  }

  private push(start: number, seqOff: number, tsOff: number): void {
    if (this.count === 0 || this.segStart[this.head] !== start) {
      this.head = (this.head + 1) % HISTORY;
      this.count = Math.min(this.count + 1, HISTORY);
    }
    this.segStart[this.head] = start;
    this.segSeqOff[this.head] = seqOff;
    this.segTsOff[this.head] = tsOff >>> 0;
  }
}
