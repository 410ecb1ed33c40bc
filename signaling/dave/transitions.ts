import type { TransitionKind } from './types.ts';

export interface Transition {
  id: number;
  kind: TransitionKind;
  /** Who gets op 22 when it executes. */
  participants: Set<string>;
  /** Who has not sent op 23 yet. */
  awaiting: Set<string>;
  timer: NodeJS.Timeout;
}

/**
 * The one transition a channel may have in flight: ids are u16 and never 0 (0 means "execute at once" to clients),
 * op 23s are collected per participant, and a timeout executes it anyway so one silent client cannot stall the call.
 */
export class TransitionTracker {
  current: Transition | null = null;
  private nextId = 1;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  begin(kind: TransitionKind, participants: Iterable<string>): Transition {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff ? 1 : this.nextId + 1;
    const set = new Set(participants);
    const timer = setTimeout(this.onTimeout, this.timeoutMs);
    timer.unref?.();
    this.current = { id, kind, participants: set, awaiting: new Set(set), timer };
    return this.current;
  }

  /** op 23 from `userId`; true when that completed the transition. */
  ready(userId: string, id: number): boolean {
    const t = this.current;
    if (!t || t.id !== id) return false;
    t.awaiting.delete(userId);
    return t.awaiting.size === 0;
  }

  /** `userId` left or re-initialised; true when the transition no longer waits for anyone. */
  drop(userId: string, leaving: boolean): boolean {
    const t = this.current;
    if (!t) return false;
    if (leaving) t.participants.delete(userId);
    return t.awaiting.delete(userId) && t.awaiting.size === 0;
  }

  /** Ends the current transition and hands it back for op 22. */
  finish(): Transition | null {
    const t = this.current;
    if (t) clearTimeout(t.timer);
    this.current = null;
    return t;
  }
}
