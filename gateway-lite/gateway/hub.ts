import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { GuildSource } from './guild-payload.ts';
import { CloseCode, keepsSession } from './close-codes.ts';
import { GatewayConnection, type ConnectionHost, type ConnectionOptions } from './connection.ts';
import type { DispatchBus, GatewayCommandHandlers, GatewayDispatch } from './events.ts';
import { Intent } from './events.ts';
import { seesContentAnyway } from './intents.ts';
import { shardOf } from './limits.ts';
import type { GatewayMetrics } from './metrics.ts';
import { Op } from './opcodes.ts';
import { PreparedDispatch, type Variant } from './serialize.ts';
import { RecentDispatches } from './recent-dispatches.ts';
import type { DeliverResult, GatewaySession } from './session.ts';
import type { SessionStore } from './session-store.ts';
import { Handshake, type HandshakeConfig, type TokenAuth } from './handshake.ts';
import { Commands, type PresenceSink } from './commands.ts';
import type { FrameEncoder } from './compression.ts';
import type { WebSocket } from 'ws';

export interface HubOptions {
  nodeId: string;
  bus: DispatchBus;
  store: SessionStore;
  guilds: GuildSource;
  auth: TokenAuth;
  commands?: GatewayCommandHandlers;
  presence?: PresenceSink;
  handshake: HandshakeConfig;
  connection: ConnectionOptions;
  /** How long a detached session stays resumable. */
  resumeTtlMs: number;
  metrics: GatewayMetrics;
  logger: Logger;
}

const MESSAGE_EVENTS = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE']);

/**
 * The sessions of this node and the routing of bus events to them: by shard (`(guild_id >> 22) % num_shards`),
 * guild membership, intents and `userIds`; MESSAGE_CONTENT decides the variant. Owns the session lifecycle around
 * sockets (attach, detach on a resumable close, expiry, invalidation) and exposes `reconnectAll()`/`drain()` (op 7).
 */
export class GatewayHub implements ConnectionHost {
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly byGuild = new Map<string, Set<GatewaySession>>();
  private readonly byUser = new Map<string, Set<GatewaySession>>();
  private readonly conns = new Map<GatewayConnection, GatewaySession | null>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();
  /** Bus events seen while a session is being taken from the store (a takeover replays the ones it lacks). */
  private takeLog: PreparedDispatch[] = [];
  private takeBase = 0;
  private takesPending = 0;
  private readonly unsubscribe: () => void;
  /** Every node's recent bus events, for a takeover whose old holder had not yet appended the newest ones. */
  private readonly recent: RecentDispatches;
  private readonly handshake: Handshake;
  private readonly commandsImpl: Commands;
  readonly log: RateLimitedLog;
  draining = false;

  constructor(readonly opts: HubOptions) {
    this.log = new RateLimitedLog(opts.logger);
    this.handshake = new Handshake(this, opts.handshake);
    this.commandsImpl = new Commands(this, opts.commands, opts.presence);
    this.unsubscribe = opts.bus.subscribe((e) => this.onEvent(e));
    this.recent = new RecentDispatches(opts.bus);
    opts.metrics.sessionCounts = () => {
      const attached = this.attachedCount();
      return { attached, detached: this.sessions.size - attached };
    };
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  /** A new socket (called by the WS server after the upgrade). */
  connect(ws: WebSocket, encoder: FrameEncoder, remote: string): GatewayConnection {
    const conn = new GatewayConnection(ws, encoder, remote, this, this.opts.connection);
    this.conns.set(conn, null);
    this.opts.metrics.connections.set(this.conns.size);
    if (this.draining) conn.sendControl(Op.RECONNECT, null);
    return conn;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  session(sessionId: string): GatewaySession | undefined {
    return this.sessions.get(sessionId);
  }

  // -- ConnectionHost ---------------------------------------------------------------------------------------------

  identify = (conn: GatewayConnection, d: Parameters<Handshake['identify']>[1]) => this.handshake.identify(conn, d);
  resume = (conn: GatewayConnection, d: Parameters<Handshake['resume']>[1]) => this.handshake.resume(conn, d);
  presence: ConnectionHost['presence'] = (conn, s, d) => this.commandsImpl.presence(s, d);
  voiceState: ConnectionHost['voiceState'] = (conn, s, d) => this.commandsImpl.voiceState(conn, s, d);
  requestMembers: ConnectionHost['requestMembers'] = (conn, s, d) => this.commandsImpl.requestMembers(s, d);

  commandSeen(op: number): void {
    this.opts.metrics.commands.inc({ op: Number.isInteger(op) && op >= 0 && op < 64 ? String(op) : 'other' });
  }

  rejected(conn: GatewayConnection, code: number, reason: string): void {
    this.log.warn(`close:${code}`, { code, remote: conn.remote, reason }, 'gateway socket refused');
  }

  closed(conn: GatewayConnection, code: number, by: 'server' | 'client'): void {
    const session = this.conns.get(conn) ?? null;
    this.conns.delete(conn);
    this.opts.metrics.connections.set(this.conns.size);
    this.opts.metrics.closes.inc({ code: String(code), by });
    if (!session || session.state.kind !== 'attached' || session.state.sink !== conn) return;
    if (by === 'client' && !keepsSession(code)) this.invalidate(session, `client closed with ${code}`);
    else this.detach(session);
  }

  // -- session registry (used by Handshake and Commands) ----------------------------------------------------------

  /** Makes `session` receive events and binds it to `conn` (READY/RESUMED are sent by the caller right after). */
  register(session: GatewaySession, conn: GatewayConnection): void {
    clearTimeout(this.expiry.get(session.sessionId));
    this.expiry.delete(session.sessionId);
    const prev = session.state.kind === 'attached' ? session.state.sink : null;
    session.attach(conn);
    if (prev instanceof GatewayConnection && prev !== conn) {
      this.conns.set(prev, null); // its close must not detach the session it no longer carries
      prev.close(CloseCode.SESSION_TIMED_OUT, 'session resumed on another connection');
    }
    conn.state = { kind: 'ready', session };
    this.conns.set(conn, session);
    if (!this.sessions.has(session.sessionId)) {
      session.onGone = () => this.gone(session);
      this.sessions.set(session.sessionId, session);
      for (const g of session.guildIds) this.index(this.byGuild, g).add(session);
      this.index(this.byUser, session.userId).add(session);
    }
  }

  joinGuild(session: GatewaySession, guildId: string): void {
    session.guildIds.add(guildId);
    this.index(this.byGuild, guildId).add(session);
  }

  leaveGuild(session: GatewaySession, guildId: string): void {
    session.guildIds.delete(guildId);
    this.byGuild.get(guildId)?.delete(session);
  }

  /** Ends a session for good (close 1000/1001, Resume refused, expiry) and forgets its stored record. */
  invalidate(session: GatewaySession, why: string): void {
    session.end(why);
    this.unregister(session);
    void this.opts.store.delete(session.sessionId).catch(() => {});
    if (!this.byUser.get(session.userId)?.size) void this.commandsImpl.offline(session);
    this.ended(session);
  }

  /** Tells the command owners (the voice bridge) a session is gone for good. */
  private ended(session: GatewaySession): void {
    this.opts.commands?.sessionEnded?.({
      userId: session.userId,
      sessionId: session.sessionId,
      guildIds: [...session.guildIds],
    });
  }

  /** Announces the presence a session identified with (online when it sent none). */
  online(session: GatewaySession): void {
    void this.commandsImpl
      .presence(session, session.presence ?? { since: null, activities: [], status: 'online', afk: false })
      .catch((err: Error) => this.log.warn('presence', { err: err.message }, 'could not publish presence'));
  }

  sessionsOf(userId: string): Iterable<GatewaySession> {
    return this.byUser.get(userId) ?? [];
  }

  /** Starts recording bus events for a takeover; returns the position to read them from. */
  beginTake(): number {
    this.takesPending++;
    return this.takeBase + this.takeLog.length;
  }

  /** Bus events this node received after the one with id `id`, oldest first; null when it is no longer known. */
  recentAfter(id: string): PreparedDispatch[] | null {
    return this.recent.after(id)?.map((e) => new PreparedDispatch(e)) ?? null;
  }

  /** The events recorded since `from`, ending that take's recording. */
  endTake(from: number): PreparedDispatch[] {
    const events = this.takeLog.slice(Math.max(0, from - this.takeBase));
    if (--this.takesPending === 0) {
      this.takeBase += this.takeLog.length;
      this.takeLog = [];
    }
    return events;
  }

  // -- routing ----------------------------------------------------------------------------------------------------

  private onEvent(e: GatewayDispatch): void {
    const p = new PreparedDispatch(e);
    if (this.takesPending > 0) this.takeLog.push(p);
    let sent = 0;
    let shed = 0;
    for (const s of this.targets(e)) {
      const r = this.deliver(s, p);
      if (r === 'shed') shed++;
      else if (r !== 'dropped') sent++;
    }
    // One counter update per event, not per session: label lookups would dominate a 10 k-session fan-out.
    if (sent) this.opts.metrics.dispatches.inc({ t: e.t }, sent);
    if (shed) this.opts.metrics.shed.inc({ t: e.t }, shed);
    if (e.guildId && (e.t === 'GUILD_MEMBER_ADD' || e.t === 'GUILD_MEMBER_REMOVE'))
      this.commandsImpl.membershipChanged(e.t, e.guildId, e.d);
  }

  private *targets(e: GatewayDispatch): Iterable<GatewaySession> {
    if (e.userIds) {
      for (const u of e.userIds) for (const s of this.byUser.get(u) ?? []) if (this.wants(s, e)) yield s;
    } else if (e.guildId) {
      for (const s of this.byGuild.get(e.guildId) ?? []) if (this.wants(s, e)) yield s;
    } else {
      for (const s of this.sessions.values()) if (this.wants(s, e)) yield s;
    }
  }

  /** Whether `s` should receive `e`: shard, membership, intents. */
  wants(s: GatewaySession, e: GatewayDispatch): boolean {
    if (e.intent !== 0 && (s.intents & e.intent) === 0) return false;
    if (shardOf(e.guildId, s.shard[1]) !== s.shard[0]) return false;
    return e.guildId === null || s.guildIds.has(e.guildId);
  }

  variantFor(s: GatewaySession, p: PreparedDispatch): Variant {
    if (!MESSAGE_EVENTS.has(p.t) || p.event.guildId === null || s.intents & Intent.MESSAGE_CONTENT) return 'full';
    return seesContentAnyway(p.event.d as Record<string, unknown>, s.userId) ? 'full' : 'no_content';
  }

  deliverTo(s: GatewaySession, p: PreparedDispatch): void {
    const r = this.deliver(s, p);
    if (r === 'shed') this.opts.metrics.shed.inc({ t: p.t });
    else if (r !== 'dropped') this.opts.metrics.dispatches.inc({ t: p.t });
  }

  private deliver(s: GatewaySession, p: PreparedDispatch): DeliverResult {
    return s.deliver(p.t, p.json(this.variantFor(s, p)), p.event.id, p.event.sheddable);
  }

  // -- detach, expiry, drain --------------------------------------------------------------------------------------

  private detach(session: GatewaySession): void {
    const expiresAt = Date.now() + this.opts.resumeTtlMs;
    void session.detach(expiresAt, this.opts.nodeId);
    const t = setTimeout(() => {
      this.expiry.delete(session.sessionId);
      if (session.state.kind === 'detached') {
        session.end('resume window expired');
        this.unregister(session);
        void this.opts.store.delete(session.sessionId).catch(() => {});
        this.ended(session);
      }
    }, this.opts.resumeTtlMs);
    t.unref();
    this.expiry.set(session.sessionId, t);
  }

  /** The store says another node resumed (took) this detached session: stop holding it here. */
  private gone(session: GatewaySession): void {
    if (session.state.kind !== 'detached') return;
    session.end('resumed elsewhere');
    this.unregister(session);
  }

  /**
   * op 7 to every socket (deploy/drain): clients reconnect to `resume_gateway_url` and resume; sockets still open
   * after `graceMs` are closed with 1012 (service restart), which keeps their sessions resumable.
   */
  reconnectAll(graceMs = 5000): number {
    let n = 0;
    for (const conn of [...this.conns.keys()]) {
      conn.sendControl(Op.RECONNECT, null);
      n++;
      setTimeout(() => conn.close(1012, 'node restarting; reconnect and resume'), graceMs).unref();
    }
    return n;
  }

  /**
   * Drain: refuse new work (new sockets get op 7 right after Hello), op 7 every socket, then wait until no session
   * is attached here and every detached record has been written to the session store (or `timeoutMs`).
   */
  async drain(timeoutMs = 10_000, graceMs = 5000): Promise<{ moved: number; attached: number }> {
    this.draining = true;
    const moved = this.reconnectAll(graceMs);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && this.attachedCount() > 0) await new Promise((r) => setTimeout(r, 25));
    return { moved, attached: this.attachedCount() };
  }

  attachedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state.kind === 'attached') n++;
    return n;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.recent.close();
    for (const conn of [...this.conns.keys()]) conn.close(1012, 'node shutting down');
    for (const t of this.expiry.values()) clearTimeout(t);
    this.expiry.clear();
  }

  private unregister(session: GatewaySession): void {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.sessions.delete(session.sessionId);
    clearTimeout(this.expiry.get(session.sessionId));
    this.expiry.delete(session.sessionId);
    for (const g of session.guildIds) this.byGuild.get(g)?.delete(session);
    this.byUser.get(session.userId)?.delete(session);
    if (this.byUser.get(session.userId)?.size === 0) this.byUser.delete(session.userId);
  }

  private index(m: Map<string, Set<GatewaySession>>, key: string): Set<GatewaySession> {
    let s = m.get(key);
    if (!s) m.set(key, (s = new Set()));
    return s;
  }
}
