import type { PresencePayload } from './opcodes.ts';

/** One dispatch as a session numbered it: replayed verbatim (same `s`) on Resume. */
export interface ReplayEntry {
  s: number;
  t: string;
  /** The dispatch's `d`, already JSON (shared with every other session that received the same variant). */
  d: string;
  /** The bus event id (`GatewayDispatch.id`), when it had one: lets a node taking over a session skip duplicates. */
  id?: string;
}

/**
 * Everything needed to resume a session, as plain JSON (it may live in Redis between a drop on node A and a Resume
 * on node B). A live session is kept in memory by its node; the record is written when the session detaches (socket
 * gone, resumable) and then kept current with `append` until it is resumed, taken or expires.
 */
export interface SessionRecord {
  sessionId: string;
  /** The bot user; its token must hash to `tokenHash` for a Resume to be accepted (else 4004). */
  userId: string;
  tokenHash: string;
  intents: number;
  /** [shard_id, num_shards] as identified ([0, 1] when Identify sent none). */
  shard: [number, number];
  largeThreshold: number;
  /** Last sequence number assigned (the next dispatch gets seq + 1). */
  seq: number;
  /** Guilds the session receives events for (membership at Identify, kept in step with member add/remove). */
  guildIds: string[];
  presence: PresencePayload | null;
  /** The newest dispatches, oldest first, at most the configured replay bound; `s` strictly increasing. */
  replay: ReplayEntry[];
  /** Epoch ms after which a Resume is refused (op 9 d:false). */
  expiresAt: number;
  /** Node that held the session when it detached. */
  nodeId: string;
}

/**
 * Where detached sessions wait for their Resume. The in-memory store serves one node; a Redis-backed one (same
 * contract) lets a session detached on one node be resumed on another. Contract:
 * - `save` stores (replacing) a detached session's record until `record.expiresAt`.
 * - `append` adds one entry to a stored record's replay (dropping the oldest beyond `maxReplay`) and sets its `seq`
 *   to `entry.s`; resolves false when the record is gone (taken by a Resume elsewhere, deleted or expired), which
 *   tells the detached holder to let the session go. Appends for one session are issued in order, one at a time.
 * - `take` atomically removes and returns the record (exactly one of several concurrent Resumes gets it), or null.
 * - `delete` forgets a record (session invalidated); unknown ids are fine.
 * Every method may reject when the backend is down; the gateway then answers the Resume with op 9 `d:true`.
 */
export interface SessionStore {
  save(record: SessionRecord): Promise<void>;
  append(sessionId: string, entry: ReplayEntry, maxReplay: number): Promise<boolean>;
  take(sessionId: string): Promise<SessionRecord | null>;
  delete(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

/** The single-node default: records in a Map, copied in and out so callers never share mutable state with it. */
export class MemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();

  save(record: SessionRecord): Promise<void> {
    this.records.set(record.sessionId, structuredClone(record));
    return Promise.resolve();
  }

  append(sessionId: string, entry: ReplayEntry, maxReplay: number): Promise<boolean> {
    const r = this.live(sessionId);
    if (!r) return Promise.resolve(false);
    r.replay.push({ ...entry });
    if (r.replay.length > maxReplay) r.replay.splice(0, r.replay.length - maxReplay);
    r.seq = entry.s;
    return Promise.resolve(true);
  }

  take(sessionId: string): Promise<SessionRecord | null> {
    const r = this.live(sessionId);
    this.records.delete(sessionId);
    return Promise.resolve(r);
  }

  delete(sessionId: string): Promise<void> {
    this.records.delete(sessionId);
    return Promise.resolve();
  }

  /** Records held (tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  close(): Promise<void> {
    this.records.clear();
    return Promise.resolve();
  }

  private live(sessionId: string): SessionRecord | null {
    const r = this.records.get(sessionId);
    if (!r) return null;
    if (r.expiresAt <= Date.now()) {
      this.records.delete(sessionId);
      return null;
    }
    return r;
  }
}
