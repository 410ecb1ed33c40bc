import type { ImpairmentPlan } from './impairment.ts';

/** How far from its expected slot a packet is looked for when the SFU has shifted sequence numbers. */
const SEARCH = 8;

/**
 * Maps what the listener receives back to the sender's frame indices. The SFU keeps a sender's sequence numbers
 * unless it drops a packet for this receiver (e.g. the DAVE gate) or inserts silence; from then on every number is
 * shifted by a constant. The collector notices a shift when a payload does not match its slot, finds the packet a few
 * slots away, and keeps the new shift (for later cells too).
 */
export class CellCollector {
  readonly rx: Array<Uint8Array | undefined>;
  got = 0;
  /** Packets that matched no frame of the cell near their slot. */
  unmatched = 0;
  /** Frames of the sender's silence tail seen after the cell. */
  tail = 0;
  /** Silence the SFU synthesised inside the cell: after which frame, how many, and how long after that frame (ms). */
  readonly inserted: Insertion[] = [];
  /**
   * Largest drift (ms) of a received frame's RTP timestamp from where the sender put it, relative to the cell's first
   * received frame: what synthesised silence costs a receiver that plays out by timestamp.
   */
  driftMs = 0;
  private lastTaken = -1;
  private lastTakenAt = 0;
  private firstIdx = -1;
  private firstTs = 0;

  constructor(
    private readonly packets: readonly Uint8Array[],
    private readonly plan: ImpairmentPlan,
    private readonly seqBase: number,
    /** Output minus input sequence number for this sender, as last observed. */
    public shift: number,
  ) {
    this.rx = new Array<Uint8Array | undefined>(packets.length).fill(undefined);
  }

  onFrame(sequence: number, payload: Uint8Array, timestamp = 0, nowMs = 0): void {
    const n = this.packets.length;
    const idx = (sequence - this.shift - this.seqBase) & 0xffff;
    if (idx < n && this.free(idx) && equal(payload, this.packets[idx]))
      return this.take(idx, payload, timestamp, nowMs);
    if (idx >= n && idx < n + SEARCH && isSilence(payload)) {
      this.tail++;
      return;
    }
    if (idx < n && isSilence(payload) && this.lastTaken >= 0) {
      const last = this.inserted.at(-1);
      if (last && last.after === this.lastTaken) last.count++;
      else this.inserted.push({ after: this.lastTaken, count: 1, delayMs: nowMs - this.lastTakenAt });
      return;
    }
    // Signed distance from the expected slot, so a shift at the start of the cell is found too.
    const near = ((idx + 0x8000) & 0xffff) - 0x8000;
    for (let k = 1; k <= SEARCH; k++) {
      for (const j of [near - k, near + k]) {
        if (j >= 0 && j < n && this.free(j) && equal(payload, this.packets[j])) {
          this.shift = (this.shift + (near - j)) & 0xffff;
          return this.take(j, payload, timestamp, nowMs);
        }
      }
    }
    this.unmatched++;
  }

  private free(i: number): boolean {
    return !this.plan.drop[i] && this.rx[i] === undefined;
  }

  private take(i: number, payload: Uint8Array, timestamp: number, nowMs: number): void {
    this.rx[i] = payload;
    this.got++;
    if (i > this.lastTaken) {
      this.lastTaken = i;
      this.lastTakenAt = nowMs;
    }
    if (this.firstIdx < 0) {
      this.firstIdx = i;
      this.firstTs = timestamp;
      return;
    }
    const drift = ((((timestamp - this.firstTs) | 0) - (i - this.firstIdx) * FRAME_TICKS) / FRAME_TICKS) * FRAME_MS;
    if (Math.abs(drift) > Math.abs(this.driftMs)) this.driftMs = drift;
  }
}

/** Synthesised silence found inside a cell. */
export interface Insertion {
  /** Sender frame index it followed. */
  after: number;
  count: number;
  /** Real time between that frame's and the first inserted frame's arrival (ms). */
  delayMs: number;
}

const FRAME_TICKS = 960;
const FRAME_MS = 20;

function isSilence(p: Uint8Array): boolean {
  return p.length === 3 && p[0] === 0xf8 && p[1] === 0xff && p[2] === 0xfe;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
