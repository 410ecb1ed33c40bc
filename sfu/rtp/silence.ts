/**
 * Opus silence: the 3-byte frame F8 FF FE that clients send (5 of them, by Discord's rules) before they stop
 * talking, never DAVE-encrypted. When a speaker vanishes mid-talk, the SFU sends the tail on its behalf so
 * receivers' decoders and jitter buffers close the talk spurt cleanly (voice-protocol.md §4).
 */

export const OPUS_SILENCE_FRAME: Readonly<Uint8Array> = Uint8Array.of(0xf8, 0xff, 0xfe);
/** Silence frames in a complete tail. */
export const SILENCE_TAIL_FRAMES = 5;
/** Default time without packets after which a talk spurt with no silence tail counts as abandoned. */
export const DEFAULT_SILENCE_GAP_MS = 200;

/**
 * When the SFU ends a sender's talk spurt for it:
 *   gap     the sender was quiet for the gap (any stall, even a jitter spike mid-spurt)
 *   vanish  the sender vanished: its transport closed, the server muted it, it said it stopped speaking (op 5), or
 *           nothing came from it for the (long) vanish timeout
 *   off     never
 */
export type SilenceSynthesis = 'gap' | 'vanish' | 'off';
export const SILENCE_SYNTHESIS_MODES = ['gap', 'vanish', 'off'] as const satisfies readonly SilenceSynthesis[];

export function isOpusSilence(payload: Uint8Array, offset: number, length: number): boolean {
  return length === 3 && payload[offset] === 0xf8 && payload[offset + 1] === 0xff && payload[offset + 2] === 0xfe;
}

/**
 * Tracks one sender's talk spurts. A spurt opens with a non-silence frame and is closed by the sender when silence
 * frames follow it (@discordjs/voice gets 4 of its 5 onto the wire, so any trailing silence counts). If instead the
 * packets stop for `gapMs`, `poll` tells the router to synthesise `tailFrames` silence frames, once.
 */
export class SilenceTail {
  private open = false;
  private trailing = 0;
  private lastAt = 0;

  constructor(
    readonly gapMs = DEFAULT_SILENCE_GAP_MS,
    readonly tailFrames = SILENCE_TAIL_FRAMES,
  ) {}

  /** Whether the sender is mid-spurt (spoke, and sent no silence since). */
  get talking(): boolean {
    return this.open && this.trailing === 0;
  }

  /** Records a packet from this sender; `silence` = its Opus payload is the silence frame. */
  onPacket(silence: boolean, nowMs: number): void {
    this.lastAt = nowMs;
    if (!silence) {
      this.open = true;
      this.trailing = 0;
    } else if (this.open) {
      this.trailing++;
    }
  }

  /** When `poll` would next have something to say (for one timer per sender), or Infinity. */
  dueAt(): number {
    return this.open ? this.lastAt + this.gapMs : Infinity;
  }

  /**
   * Call from a timer: returns how many silence frames to synthesise now (tailFrames or 0). A spurt whose sender
   * already began the tail, or that saw a packet within `gapMs`, needs none.
   */
  poll(nowMs: number): number {
    if (!this.open || nowMs - this.lastAt < this.gapMs) return 0;
    return this.close();
  }

  /** The sender stops now (left, muted, deafened by the server): the tail it still owes, if any. */
  end(): number {
    return this.open ? this.close() : 0;
  }

  private close(): number {
    const owed = this.trailing === 0 ? this.tailFrames : 0;
    this.open = false;
    this.trailing = 0;
    return owed;
  }
}
