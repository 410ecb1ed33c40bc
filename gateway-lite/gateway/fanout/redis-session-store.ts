import type { Redis } from 'ioredis';
import type { ReplayEntry, SessionRecord, SessionStore } from '../session-store.ts';

// A detached session = a hash (the record without its replay; `seq` as its own field) and a list (the replay, oldest
// first), both expiring at the record's expiresAt. Scripts keep append and take atomic against each other: an append
// after a take finds no hash and answers 0, which tells the old holder to let the session go.
const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

const TAKE = `
local rec = redis.call('HGET', KEYS[1], 'rec')
if not rec then return false end
local seq = redis.call('HGET', KEYS[1], 'seq')
local log = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2])
table.insert(log, 1, seq)
table.insert(log, 1, rec)
return log
`;

type StoreRedis = Redis & {
  resoundGwSessAppend(meta: string, log: string, entry: string, seq: number, max: number): Promise<number>;
  resoundGwSessTake(meta: string, log: string): Promise<string[] | null>;
};

/**
 * The gateway's `SessionStore` in Redis, so a session detached on one node (a dropped socket, or op 7 during a drain)
 * is resumed on whichever node the client reaches. The detached holder keeps appending every dispatch the session is
 * owed until a Resume anywhere takes the record (`take` is atomic: one winner).
 */
export class RedisSessionStore implements SessionStore {
  private readonly redis: StoreRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    const r = redis as StoreRedis;
    if (typeof r.resoundGwSessAppend !== 'function') {
      r.defineCommand('resoundGwSessAppend', { numberOfKeys: 2, lua: APPEND });
      r.defineCommand('resoundGwSessTake', { numberOfKeys: 2, lua: TAKE });
    }
    this.redis = r;
  }

  private keys(sessionId: string): [string, string] {
    const meta = `${this.prefix}gw:sess:${sessionId}`;
    return [meta, `${meta}:log`];
  }

  async save(record: SessionRecord): Promise<void> {
    const [meta, log] = this.keys(record.sessionId);
    const { replay, seq, ...rest } = record;
    const m = this.redis.multi().del(meta, log);
    if (record.expiresAt > Date.now()) {
      m.hset(meta, 'rec', JSON.stringify(rest), 'seq', String(seq)).pexpireat(meta, record.expiresAt);
      if (replay.length) m.rpush(log, ...replay.map((e) => JSON.stringify(e))).pexpireat(log, record.expiresAt);
    }
    await m.exec();
  }

  async append(sessionId: string, entry: ReplayEntry, maxReplay: number): Promise<boolean> {
    const [meta, log] = this.keys(sessionId);
    return (await this.redis.resoundGwSessAppend(meta, log, JSON.stringify(entry), entry.s, maxReplay)) === 1;
  }

  async take(sessionId: string): Promise<SessionRecord | null> {
    const [meta, log] = this.keys(sessionId);
    const got = await this.redis.resoundGwSessTake(meta, log);
    if (!got || got.length < 2) return null;
    const record = parseRecord(got[0], got[1], got.slice(2));
    return record && record.expiresAt > Date.now() ? record : null;
  }

  async delete(sessionId: string): Promise<void> {
    await this.redis.del(...this.keys(sessionId));
  }

  async close(): Promise<void> {
    // The connection belongs to the node; records stay for the other nodes until they expire.
  }
}

/** Total parse of what `save`/`append` wrote: anything else (a foreign or corrupt key) is treated as gone. */
function parseRecord(rec: string, seq: string, log: string[]): SessionRecord | null {
  try {
    const r = JSON.parse(rec) as Omit<SessionRecord, 'replay' | 'seq'>;
    const replay = log.map((l) => JSON.parse(l) as ReplayEntry);
    const s = Number(seq);
    if (typeof r.sessionId !== 'string' || typeof r.expiresAt !== 'number' || !Number.isSafeInteger(s)) return null;
    if (!replay.every((e) => typeof e.s === 'number' && typeof e.t === 'string' && typeof e.d === 'string'))
      return null;
    return { ...r, seq: s, replay };
  } catch {
    return null;
  }
}
