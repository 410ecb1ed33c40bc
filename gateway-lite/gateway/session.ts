import type { PresencePayload } from './opcodes.ts';
import { dispatchFrame } from './serialize.ts';
import type { ReplayEntry, SessionRecord, SessionStore } from './session-store.ts';

/** What a session sends through while a socket carries it (the connection, with its encoder and buffer bound). */
export interface SessionSink {
  /** The socket's outbound buffer is past the shed mark: sheddable events are dropped, not numbered. */
  congested(): boolean;
  /** Queues one op 0 frame (already numbered). */
  sendFrame(frame: string): void;
}

/**
 * Where a session is: carried by a socket, waiting for a Resume (its replay buffer still filling, its record in the
 * session store), or over (invalidated or expired; it never comes back).
 */
export type SessionState =
  { kind: 'attached'; sink: SessionSink } | { kind: 'detached'; expiresAt: number } | { kind: 'ended'; why: string };

export type DeliverResult = 'sent' | 'buffered' | 'shed' | 'dropped';

export interface SessionInit {
  sessionId: string;
  userId: string;
  tokenHash: string;
  intents: number;
  shard: [number, number];
  largeThreshold: number;
  guildIds: Iterable<string>;
  presence: PresencePayload | null;
  seq?: number;
  replay?: ReplayEntry[];
}

/**
 * One gateway session (Identify → READY … until invalidated or expired), independent of the socket carrying it: it
 * numbers every dispatch it accepts (`s`), keeps the newest `maxReplay` for Resume, and outlives its socket as long
 * as the close was resumable.
 */
export class GatewaySession {
  readonly sessionId: string;
  readonly userId: string;
  readonly tokenHash: string;
  readonly intents: number;
  readonly shard: [number, number];
  readonly largeThreshold: number;
  readonly guildIds: Set<string>;
  presence: PresencePayload | null;
  seq: number;
  state: SessionState = { kind: 'detached', expiresAt: 0 };
  private replay: ReplayEntry[];
  /** Store appends while detached, one at a time and in order (the store contract). */
  private appends: Promise<unknown> = Promise.resolve();

  constructor(
    init: SessionInit,
    private readonly maxReplay: number,
    private readonly store: SessionStore,
  ) {
    this.sessionId = init.sessionId;
    this.userId = init.userId;
    this.tokenHash = init.tokenHash;
    this.intents = init.intents;
    this.shard = init.shard;
    this.largeThreshold = init.largeThreshold;
    this.guildIds = new Set(init.guildIds);
    this.presence = init.presence;
    this.seq = init.seq ?? 0;
    this.replay = init.replay ? [...init.replay] : [];
  }

  static fromRecord(r: SessionRecord, maxReplay: number, store: SessionStore): GatewaySession {
    return new GatewaySession(r, maxReplay, store);
  }

  /**
   * Numbers and sends (or buffers) one dispatch. Sheddable events are dropped un-numbered when the socket is
   * congested or absent (a resumed client never learns of stale typing/presence). `onGone` fires if the store says
   * the detached session was taken elsewhere.
   */
  deliver(t: string, dJson: string, opts: { id?: string; sheddable?: boolean }, onGone?: () => void): DeliverResult {
    const st = this.state;
    if (st.kind === 'ended') return 'dropped';
    if (opts.sheddable && (st.kind === 'detached' || st.sink.congested())) return 'shed';
    const entry: ReplayEntry = { s: ++this.seq, t, d: dJson, ...(opts.id ? { id: opts.id } : {}) };
    this.remember(entry);
    if (st.kind === 'attached') {
      st.sink.sendFrame(dispatchFrame(t, entry.s, dJson));
      return 'sent';
    }
    this.appends = this.appends
      .then(() => this.store.append(this.sessionId, entry, this.maxReplay))
      .then(
        (kept) => {
          if (!kept) onGone?.();
        },
        () => {},
      );
    return 'buffered';
  }

  attach(sink: SessionSink): void {
    this.state = { kind: 'attached', sink };
  }

  /** The socket went away resumably: keep buffering until `expiresAt`, with the record in the store. */
  async detach(expiresAt: number, nodeId: string): Promise<void> {
    if (this.state.kind === 'ended') return;
    this.state = { kind: 'detached', expiresAt };
    const record = this.toRecord(expiresAt, nodeId);
    this.appends = this.appends.then(() => this.store.save(record)).catch(() => {});
    await this.appends;
  }

  end(why: string): void {
    this.state = { kind: 'ended', why };
  }

  /**
   * The dispatches a client that saw up to `seq` missed, or why it cannot have them: `ahead` (it claims more than was
   * ever sent → 4007) or `gap` (the oldest it needs fell out of the bounded buffer → op 9 d:false).
   */
  missedSince(seq: number): { ok: true; entries: ReplayEntry[] } | { ok: false; why: 'ahead' | 'gap' } {
    if (seq > this.seq) return { ok: false, why: 'ahead' };
    if (seq === this.seq) return { ok: true, entries: [] };
    const window = this.window();
    if (window.length === 0 || window[0].s > seq + 1) return { ok: false, why: 'gap' };
    return { ok: true, entries: window.filter((e) => e.s > seq) };
  }

  /** Ids of the bus events already numbered in the replay window (a takeover skips these). */
  replayedIds(): Set<string> {
    const ids = new Set<string>();
    for (const e of this.window()) if (e.id) ids.add(e.id);
    return ids;
  }

  toRecord(expiresAt: number, nodeId: string): SessionRecord {
    return {
      sessionId: this.sessionId,
      userId: this.userId,
      tokenHash: this.tokenHash,
      intents: this.intents,
      shard: [this.shard[0], this.shard[1]],
      largeThreshold: this.largeThreshold,
      seq: this.seq,
      guildIds: [...this.guildIds],
      presence: this.presence,
      replay: this.window(),
      expiresAt,
      nodeId,
    };
  }

  private remember(entry: ReplayEntry): void {
    this.replay.push(entry);
    // Trim in batches so a push stays O(1) amortised; window() reads only the newest maxReplay.
    if (this.replay.length >= this.maxReplay * 2) this.replay = this.replay.slice(-this.maxReplay);
  }

  private window(): ReplayEntry[] {
    return this.replay.length > this.maxReplay ? this.replay.slice(-this.maxReplay) : this.replay;
  }
}
