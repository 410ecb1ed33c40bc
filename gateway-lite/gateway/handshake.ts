import { randomBytes } from 'node:crypto';
import { hashToken } from '../rest/auth.ts';
import { userJson } from '../rest/serialize.ts';
import type { StoredUser } from '../storage/types.ts';
import { CloseCode } from './close-codes.ts';
import type { GatewayConnection } from './connection.ts';
import { Intent } from './events.ts';
import type { GatewayHub } from './hub.ts';
import { checkIntents, type IntentGrants } from './intents.ts';
import { shardOf, type IdentifyThrottle } from './limits.ts';
import { Op, type IdentifyPayload, type ResumePayload } from './opcodes.ts';
import { dispatchFrame } from './serialize.ts';
import { GatewaySession } from './session.ts';

/** A bot token (as sent in Identify/Resume) → its bot user, or null. */
export type TokenAuth = (token: string) => Promise<StoredUser | null>;

export interface HandshakeConfig {
  /** READY's resume_gateway_url (known once the listener is bound). */
  resumeGatewayUrl: () => string;
  /** Largest num_shards accepted in Identify's shard tuple. */
  maxShards: number;
  /** Discord's 2500 guilds per shard; more → 4011. */
  maxGuildsPerShard: number;
  grants: IntentGrants;
  throttle: IdentifyThrottle;
  replayMax: number;
}

/** Identify (op 2 → READY + GUILD_CREATEs) and Resume (op 6 → replay + RESUMED), with every refusal's close code. */
export class Handshake {
  constructor(
    private readonly hub: GatewayHub,
    private readonly cfg: HandshakeConfig,
  ) {}

  async identify(conn: GatewayConnection, d: IdentifyPayload): Promise<void> {
    const { metrics, auth, guilds, store } = this.hub.opts;
    const token = d.token.replace(/^Bot\s+/i, '');
    const user = await auth(token);
    if (!conn.open) return;
    if (!user) return this.refuse(conn, CloseCode.AUTHENTICATION_FAILED, 'authentication failed: unknown bot token');
    const [shardId, numShards] = d.shard ?? [0, 1];
    if (numShards < 1 || numShards > this.cfg.maxShards || shardId < 0 || shardId >= numShards)
      return this.refuse(conn, CloseCode.INVALID_SHARD, `invalid shard [${shardId}, ${numShards}]`);
    const intents = checkIntents(d.intents, this.cfg.grants.granted(user.id));
    if (!intents.ok) return this.refuse(conn, intents.code, intents.reason);
    if (!this.cfg.throttle.admit(user.id, shardId)) {
      metrics.identifies.inc({ result: 'throttled' });
      this.hub.log.warn('identify:throttled', { bot: user.id, shardId }, 'identify over max_concurrency; op 9');
      conn.state = { kind: 'hello' };
      return conn.sendControl(Op.INVALID_SESSION, false);
    }
    const guildIds = (await guilds.guildIdsOf(user.id)).filter((g) => shardOf(g, numShards) === shardId);
    if (guildIds.length > this.cfg.maxGuildsPerShard)
      return this.refuse(conn, CloseCode.SHARDING_REQUIRED, `${guildIds.length} guilds on one shard; shard more`);
    const presences = (d.intents & Intent.GUILD_PRESENCES) !== 0;
    const creates = await Promise.all(
      guildIds.map((g) => guilds.guildCreate(g, { userId: user.id, largeThreshold: d.large_threshold, presences })),
    );
    if (!conn.open) return;
    const session = new GatewaySession(
      {
        sessionId: randomBytes(16).toString('hex'),
        userId: user.id,
        tokenHash: hashToken(token),
        // MESSAGE_CONTENT gates what apps see; a user's own client always gets message content, as on Discord.
        intents: user.bot ? d.intents : d.intents | Intent.MESSAGE_CONTENT,
        shard: [shardId, numShards],
        largeThreshold: d.large_threshold,
        guildIds,
        presence: d.presence ?? null,
      },
      this.cfg.replayMax,
      store,
    );
    // Registered, READY and every GUILD_CREATE in one synchronous run: no bus event can slip in before READY.
    this.hub.register(session, conn);
    this.direct(session, 'READY', {
      v: 10,
      user: userJson(user),
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.sessionId,
      session_type: 'normal',
      resume_gateway_url: this.cfg.resumeGatewayUrl(),
      ...(d.shard ? { shard: [shardId, numShards] } : {}),
      application: { id: user.id, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      user_settings: {},
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
    });
    for (const c of creates) if (c) this.direct(session, 'GUILD_CREATE', c);
    metrics.identifies.inc({ result: 'ready' });
    this.hub.online(session);
  }

  async resume(conn: GatewayConnection, d: ResumePayload): Promise<void> {
    const { metrics, store } = this.hub.opts;
    const tokenHash = hashToken(d.token.replace(/^Bot\s+/i, ''));
    const seq = d.seq ?? 0;
    let session = this.hub.session(d.session_id);
    let catchUp: ReturnType<GatewayHub['endTake']> = [];
    let source = 'local';
    if (!session || session.state.kind === 'ended') {
      const from = this.hub.beginTake();
      let record;
      try {
        record = await store.take(d.session_id);
      } catch (err) {
        this.hub.endTake(from);
        metrics.resumes.inc({ result: 'unavailable' });
        this.hub.log.warn('resume:store', { err: (err as Error).message }, 'session store unavailable; op 9 true');
        conn.state = { kind: 'hello' };
        return conn.sendControl(Op.INVALID_SESSION, true);
      }
      catchUp = this.hub.endTake(from);
      if (!conn.open) {
        if (record) await store.save(record).catch(() => {});
        return;
      }
      if (!record) return this.invalid(conn, 'invalid', 'unknown or expired session');
      if (record.tokenHash !== tokenHash) {
        await store.save(record).catch(() => {});
        return this.refuse(conn, CloseCode.AUTHENTICATION_FAILED, 'authentication failed: token does not own session');
      }
      // The old holder numbered events up to the record's newest; any after it that its append had not yet stored
      // when the record was taken reached this node before recording began: replay those from the recent ring.
      const newest = record.replay.at(-1)?.id;
      const after = newest ? this.hub.recentAfter(newest) : null;
      if (after) catchUp = after;
      session = GatewaySession.fromRecord(record, this.cfg.replayMax, store);
      source = 'taken';
    } else {
      if (session.tokenHash !== tokenHash)
        return this.refuse(conn, CloseCode.AUTHENTICATION_FAILED, 'authentication failed: token does not own session');
      void store.delete(session.sessionId).catch(() => {});
    }
    const missed = session.missedSince(seq);
    if (!missed.ok && missed.why === 'ahead') {
      if (source === 'local') this.hub.invalidate(session, 'resume with a sequence never sent');
      return this.refuse(conn, CloseCode.INVALID_SEQ, `invalid seq ${seq}: last sent is ${session.seq}`);
    }
    if (!missed.ok) {
      if (source === 'local') this.hub.invalidate(session, 'replay buffer no longer covers the resume point');
      return this.invalid(conn, 'gap', `seq ${seq} is older than the replay buffer`);
    }
    const known = source === 'taken' ? session.replayedIds() : new Set<string>();
    this.hub.register(session, conn);
    for (const e of missed.entries) conn.sendFrame(dispatchFrame(e.t, e.s, e.d));
    metrics.replayed.inc(missed.entries.length);
    // Events that reached this node while the record was being taken and that the old holder never numbered.
    for (const p of catchUp)
      if (p.event.id && !known.has(p.event.id) && this.hub.wants(session, p.event)) this.hub.deliverTo(session, p);
    this.direct(session, 'RESUMED', {});
    metrics.resumes.inc({ result: source });
  }

  private direct(session: GatewaySession, t: string, d: unknown): void {
    session.deliver(t, JSON.stringify(d));
    this.hub.opts.metrics.dispatches.inc({ t });
  }

  private invalid(conn: GatewayConnection, result: string, why: string): void {
    this.hub.opts.metrics.resumes.inc({ result });
    this.hub.log.warn(`resume:${result}`, { remote: conn.remote, why }, 'resume refused; op 9 false');
    conn.state = { kind: 'hello' };
    conn.sendControl(Op.INVALID_SESSION, false);
  }

  private refuse(conn: GatewayConnection, code: number, reason: string): void {
    this.hub.opts.metrics.identifies.inc({ result: `refused_${code}` });
    conn.reject(code, reason);
  }
}
