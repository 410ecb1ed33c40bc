import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import { applyMembership, checkCommit } from './commit-check.ts';
import { ExternalSender, appendPayload, groupIdFor, revokePayload } from './external-sender.ts';
import { ProposalLedger, type InFlight } from './ledger.ts';
import { MlsDecodeError, parseCommitWelcome, parseKeyPackage, validateKeyPackage, type KeyPackage } from './mls-codec.ts';
import {
  DAVE_MAX_PROTOCOL_VERSION,
  DaveClose,
  noopDaveMetrics,
  type AdmitResult,
  type DaveCloseCode,
  type DaveMetricsHooks,
  type DaveOutput,
  type DaveRejection,
  type E2eeMode,
  type MediaRole,
  type TransitionKind,
} from './types.ts';

export interface DaveGroupOptions {
  channelId: string;
  mode: E2eeMode;
  sender: ExternalSender;
  /** Receives every instruction, synchronously and in the order the clients must see them. */
  sink: (out: DaveOutput) => void;
  /** How long to wait for op 23 from every participant before sending op 22 anyway. */
  transitionTimeoutMs?: number;
  metrics?: DaveMetricsHooks;
  logger?: Logger;
  now?: () => number;
}

type ClientState = 'plain' | 'awaiting_kp' | 'pending' | 'member';

interface Client {
  userId: string;
  identity: Buffer;
  maxVersion: number;
  /** The client's DAVE wrapper holds a davey session (op 4 said ≥1, or op 24 upgraded it). */
  hasSession: boolean;
  externalSenderSent: boolean;
  state: ClientState;
  keyPackage: KeyPackage | null;
  leaf: number | null;
  /** Received epoch-0 proposals since its last re-init; must re-init before another epoch-0 round. */
  heldRound: boolean;
  joinedAt: number;
  sawE2ee: boolean;
}

interface Transition {
  id: number;
  kind: TransitionKind;
  participants: Set<string>;
  awaiting: Set<string>;
  timer: NodeJS.Timeout;
}

const REJECT_CODES: Record<DaveRejection, DaveCloseCode> = {
  kp_malformed: DaveClose.DecodeError,
  commit_malformed: DaveClose.DecodeError,
  kp_bad_credential: DaveClose.BadRequest,
  kp_expired: DaveClose.BadRequest,
  kp_bad_signature: DaveClose.BadRequest,
  kp_without_dave: DaveClose.BadRequest,
  commit_wrong_group: DaveClose.BadRequest,
  commit_future_epoch: DaveClose.BadRequest,
  commit_wrong_sender: DaveClose.BadRequest,
  commit_unknown_proposal: DaveClose.BadRequest,
  commit_not_sent_to_committer: DaveClose.BadRequest,
  commit_empty: DaveClose.BadRequest,
  commit_credential_changed: DaveClose.BadRequest,
  commit_welcome_mismatch: DaveClose.BadRequest,
  transition_malformed: DaveClose.DecodeError,
};

/**
 * One voice channel's DAVE group as the delivery service sees it: who is pending, who holds which leaf, which
 * proposals are in flight for which epoch, and which transition is collecting op 23. Pure logic: gateway events
 * in, instructions for specific users out through `sink`. One transition at a time: work that arrives during a
 * transition waits and is reconciled when op 22 goes out, so no client ever sees a proposal for an epoch it is not in.
 */
export class DaveGroup {
  readonly channelId: string;
  readonly groupId: Buffer;
  private readonly clients = new Map<string, Client>();
  private readonly ledger = new ProposalLedger();
  private leaves: (string | null)[] = [];
  private established = false;
  private epochValue = 0n;
  private maxEpoch = 0n;
  private callVersion: number;
  private transition: Transition | null = null;
  private nextTransitionId = 1;
  private closed = false;
  private readonly metrics: DaveMetricsHooks;
  private readonly warn: RateLimitedLog | null;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: DaveGroupOptions) {
    this.channelId = opts.channelId;
    this.groupId = groupIdFor(opts.channelId);
    this.callVersion = opts.mode === 'off' ? 0 : DAVE_MAX_PROTOCOL_VERSION;
    this.metrics = opts.metrics ?? noopDaveMetrics;
    this.warn = opts.logger ? new RateLimitedLog(opts.logger) : null;
    this.timeoutMs = opts.transitionTimeoutMs ?? 3000;
    this.now = opts.now ?? Date.now;
  }

  get epoch(): bigint {
    return this.epochValue;
  }

  get isEstablished(): boolean {
    return this.established;
  }

  get protocolVersion(): number {
    return this.callVersion;
  }

  /** User ids by leaf index (null = blank leaf). */
  get leafMap(): readonly (string | null)[] {
    return this.leaves;
  }

  get transitionInProgress(): number | null {
    return this.transition?.id ?? null;
  }

  mediaRole(userId: string): MediaRole {
    const c = this.clients.get(userId);
    if (!c || c.state === 'plain') return 'plain';
    return c.state === 'member' ? 'member' : 'pending';
  }

  /** True when the client runs a DAVE session (it may send ops 23, 26, 28, 31). */
  speaksDave(userId: string): boolean {
    return this.clients.get(userId)?.hasSession ?? false;
  }

  /** Step 1, at Identify: the protocol version for op 4, or the close a version-0 client gets in a required channel. */
  admit(userId: string, maxVersion: number): AdmitResult {
    const offered = Math.max(0, Math.min(maxVersion | 0, DAVE_MAX_PROTOCOL_VERSION));
    if (this.opts.mode === 'required' && offered === 0) {
      this.metrics.rejected('kp_without_dave');
      return { ok: false, code: DaveClose.E2eeRequired, reason: 'this channel requires end-to-end encryption (DAVE)' };
    }
    const prior = this.clients.get(userId);
    if (prior) this.leave(userId);
    const version = this.opts.mode === 'off' || offered === 0 ? 0 : this.callVersion;
    this.clients.set(userId, {
      userId,
      identity: groupIdFor(userId),
      maxVersion: offered,
      hasSession: version > 0,
      externalSenderSent: false,
      state: version > 0 ? 'awaiting_kp' : 'plain',
      keyPackage: null,
      leaf: null,
      heldRound: false,
      joinedAt: this.now(),
      sawE2ee: false,
    });
    return { ok: true, protocolVersion: version };
  }

  /** Step 2, right after op 4 went out: op 25 for DAVE sessions, and any downgrade a version-0 client forces. */
  ready(userId: string): void {
    const c = this.clients.get(userId);
    if (!c) return;
    if (c.hasSession && !c.externalSenderSent) this.sendExternalSender(c);
    this.reconcile();
  }

  keyPackage(userId: string, payload: Buffer): void {
    const c = this.clients.get(userId);
    if (!c) return;
    if (c.maxVersion === 0) return this.reject(c, 'kp_without_dave', 'key package from a client that offered no DAVE');
    let kp: KeyPackage;
    try {
      kp = parseKeyPackage(payload);
    } catch (err) {
      if (err instanceof MlsDecodeError) return this.reject(c, 'kp_malformed', err.message);
      throw err;
    }
    const problem = validateKeyPackage(kp, BigInt(userId), BigInt(Math.floor(this.now() / 1000)));
    if (problem) return this.reject(c, `kp_${problem}`, `key package rejected: ${problem}`);
    if (!c.hasSession || this.callVersion === 0) return; // a late key package from before a downgrade
    this.revokeAddsOf(c.userId);
    // A key package means the client re-initialised: any leaf it held is dead and its epoch-0 state is fresh.
    c.keyPackage = kp;
    c.leaf = null;
    c.heldRound = false;
    c.state = 'pending';
    this.reconcile();
  }

  commitWelcome(userId: string, payload: Buffer): void {
    const c = this.clients.get(userId);
    if (!c) return;
    if (this.callVersion === 0 || c.state === 'plain') return this.stale('commit while the call is not using DAVE');
    let parsed;
    try {
      parsed = parseCommitWelcome(payload);
    } catch (err) {
      if (err instanceof MlsDecodeError) return this.reject(c, 'commit_malformed', err.message);
      throw err;
    }
    const expectedLeaf = this.established ? (c.state === 'member' ? c.leaf : null) : c.state === 'pending' ? 0 : null;
    let verdict;
    try {
      verdict = checkCommit(parsed, {
        groupId: this.groupId,
        epoch: this.epochValue,
        maxEpoch: this.maxEpoch,
        busy: this.transition !== null,
        committer: userId,
        expectedLeaf,
        committerIdentity: c.identity,
        committerSignatureKey: c.keyPackage?.leafNode.signatureKey ?? null,
        ledger: this.ledger,
      });
    } catch (err) {
      if (err instanceof MlsDecodeError) return this.reject(c, 'commit_malformed', err.message);
      throw err;
    }
    if (verdict.kind === 'stale') {
      this.metrics.commitRaceLost();
      return this.stale(verdict.why);
    }
    if (verdict.kind === 'reject') return this.reject(c, verdict.reason, verdict.detail);
    this.acceptCommit(c, parsed.commitMessage, parsed.welcome, verdict.adds, verdict.removes);
  }

  transitionReady(userId: string, transitionId: number): void {
    const t = this.transition;
    if (!t || t.id !== transitionId) return;
    t.awaiting.delete(userId);
    if (t.awaiting.size === 0) this.executeTransition();
  }

  /** op 31: the client failed a commit or Welcome and re-initialises; its leaf is dead until it is added again. */
  invalidCommitWelcome(userId: string, transitionId: number): void {
    const c = this.clients.get(userId);
    this.metrics.invalidCommitWelcome();
    this.warn?.warn(`dave-op31:${this.channelId}`, { userId, transitionId, channelId: this.channelId }, 'client reported an invalid commit or welcome');
    if (!c || !c.hasSession) return;
    this.revokeAddsOf(userId);
    c.state = 'awaiting_kp';
    c.keyPackage = null;
    c.leaf = null;
    c.heldRound = false;
    const t = this.transition;
    if (t?.awaiting.delete(userId) && t.awaiting.size === 0) this.executeTransition();
    else this.reconcile();
  }

  leave(userId: string): void {
    const c = this.clients.get(userId);
    if (!c) return;
    this.clients.delete(userId);
    this.revokeAddsOf(userId);
    this.ledger.dropRecipient(userId);
    const t = this.transition;
    if (t) {
      t.participants.delete(userId);
      if (t.awaiting.delete(userId) && t.awaiting.size === 0) return this.executeTransition();
    }
    this.reconcile();
  }

  /** The SFU saw a DAVE-encrypted frame from this user (for the join → first E2EE frame metric). */
  noteE2eeFrame(userId: string): void {
    const c = this.clients.get(userId);
    if (!c || c.sawE2ee) return;
    c.sawE2ee = true;
    this.metrics.joinToFirstE2eeFrame((this.now() - c.joinedAt) / 1000);
  }

  close(): void {
    this.closed = true;
    if (this.transition) clearTimeout(this.transition.timer);
    this.transition = null;
    if (this.established) this.metrics.groupEstablished(-1);
    this.established = false;
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  private send(out: DaveOutput): void {
    if (!this.closed) this.opts.sink(out);
  }

  private sendExternalSender(c: Client): void {
    c.externalSenderSent = true;
    this.send({ to: c.userId, kind: 'binary', op: 25, payload: this.opts.sender.op25Payload });
  }

  private reject(c: Client, reason: DaveRejection, detail: string): void {
    this.metrics.rejected(reason);
    this.warn?.warn(`dave-reject:${reason}`, { userId: c.userId, channelId: this.channelId, reason, detail }, 'rejected DAVE input');
    this.send({ to: c.userId, kind: 'close', code: REJECT_CODES[reason], reason: `${reason}: ${detail}`.slice(0, 120) });
  }

  private stale(why: string): void {
    this.opts.logger?.debug({ channelId: this.channelId, why }, 'dropped stale DAVE commit');
  }

  private desiredVersion(): number {
    if (this.opts.mode === 'off') return 0;
    if (this.opts.mode === 'required') return DAVE_MAX_PROTOCOL_VERSION;
    for (const c of this.clients.values()) if (c.maxVersion === 0) return 0;
    return DAVE_MAX_PROTOCOL_VERSION;
  }

  private members(): Client[] {
    return [...this.clients.values()].filter((c) => c.state === 'member');
  }

  private revokeAddsOf(userId: string): void {
    const entry = this.ledger.addFor(userId);
    if (!entry) return;
    this.ledger.revoke(entry);
    const payload = revokePayload([entry.ref]);
    for (const to of entry.recipients) if (this.clients.has(to)) this.send({ to, kind: 'binary', op: 27, payload });
  }

  private beginTransition(kind: TransitionKind, participants: Iterable<string>): Transition {
    const id = this.nextTransitionId;
    this.nextTransitionId = this.nextTransitionId >= 0xffff ? 1 : this.nextTransitionId + 1;
    const set = new Set(participants);
    const t: Transition = { id, kind, participants: set, awaiting: new Set(set), timer: setTimeout(() => this.executeTransition(), this.timeoutMs) };
    t.timer.unref?.();
    this.transition = t;
    this.metrics.transition(kind);
    return t;
  }

  private executeTransition(): void {
    const t = this.transition;
    if (!t) return;
    clearTimeout(t.timer);
    this.transition = null;
    for (const to of t.participants) if (this.clients.has(to)) this.send({ to, kind: 'json', op: 22, d: { transition_id: t.id } });
    if (t.kind === 'downgrade') this.finishDowngrade();
    this.reconcile();
  }

  private acceptCommit(committer: Client, commit: Buffer, welcome: Buffer | null, adds: InFlight[], removes: InFlight[]): void {
    const previous = this.established ? this.members() : [committer];
    const removedUsers = new Set(removes.map((r) => this.leaves[r.leaf]).filter((u): u is string => u !== null && u !== undefined));
    if (!this.established) {
      this.leaves = [committer.userId];
      committer.leaf = 0;
      committer.state = 'member';
      this.established = true;
      this.metrics.groupEstablished(1);
    }
    const placed = applyMembership(this.leaves, removes, adds);
    for (const u of removedUsers) {
      const rc = this.clients.get(u);
      if (rc?.state === 'member' && rc.leaf !== null && this.leaves[rc.leaf] !== u) rc.state = rc.keyPackage ? 'pending' : 'awaiting_kp';
    }
    this.epochValue += 1n;
    if (this.epochValue > this.maxEpoch) this.maxEpoch = this.epochValue;
    this.metrics.epochAdvanced();
    this.ledger.retireAll();
    const oldMembers = previous.filter((m) => m.state === 'member' && !removedUsers.has(m.userId));
    const added: Client[] = [];
    for (const [userId, leaf] of placed) {
      const a = this.clients.get(userId);
      if (!a) continue;
      a.state = 'member';
      a.leaf = leaf;
      added.push(a);
    }
    const t = this.beginTransition('commit', [...oldMembers, ...added].map((c) => c.userId));
    const tid = Buffer.from([t.id >> 8, t.id & 0xff]);
    const announce = Buffer.concat([tid, commit]);
    for (const m of oldMembers) this.send({ to: m.userId, kind: 'binary', op: 29, payload: announce });
    if (welcome) {
      const w = Buffer.concat([tid, welcome]);
      for (const a of added) this.send({ to: a.userId, kind: 'binary', op: 30, payload: w });
    }
  }

  /** Brings proposals, resets and version changes in line with who is in the channel. Idempotent. */
  private reconcile(): void {
    if (this.closed || this.transition) return;
    if (this.clients.size === 0) return this.resetGroup();
    const desired = this.desiredVersion();
    if (desired === 0 && this.callVersion > 0) return this.startDowngrade();
    if (desired > 0 && this.callVersion === 0) this.upgrade(desired);
    if (this.callVersion === 0) return;
    if (this.established) this.reconcileEstablished();
    if (!this.established) this.reconcileInitial();
  }

  private reconcileEstablished(): void {
    const live = this.members();
    const dead: number[] = [];
    this.leaves.forEach((u, leaf) => {
      if (u === null) return;
      const c = this.clients.get(u);
      if (!c || c.state !== 'member' || c.leaf !== leaf) dead.push(leaf);
    });
    if (live.length === 0) return this.resetGroup();
    if (live.length === 1 && dead.length > 0) return this.soleMemberReset(live[0]);
    // Members all hold the same proposals; while they hold live ones, new work waits for the next epoch.
    if (live.some((m) => this.ledger.holdsLive(m.userId))) return;
    const fresh: InFlight[] = [];
    for (const leaf of dead) {
      const p = this.opts.sender.propose(this.groupId, this.epochValue, { type: 'remove', leafIndex: leaf });
      fresh.push(this.ledger.add(p, 'remove', this.leaves[leaf] ?? '', leaf, null));
    }
    for (const c of this.clients.values()) {
      if (c.state !== 'pending' || !c.keyPackage || !c.externalSenderSent) continue;
      const p = this.opts.sender.propose(this.groupId, this.epochValue, { type: 'add', keyPackage: c.keyPackage.raw });
      fresh.push(this.ledger.add(p, 'add', c.userId, -1, c.keyPackage.raw));
    }
    if (fresh.length === 0) return;
    const payload = appendPayload(fresh.map((f) => f.message));
    for (const m of live) {
      for (const f of fresh) f.recipients.add(m.userId);
      this.send({ to: m.userId, kind: 'binary', op: 27, payload });
    }
  }

  /** Flow A: every pending client with a key package gets an epoch-0 Add for each of the others. */
  private reconcileInitial(): void {
    const ready = [...this.clients.values()].filter((c) => c.state === 'pending' && c.keyPackage && c.externalSenderSent);
    if (ready.length < 2) return;
    for (const to of ready) {
      if (this.ledger.holdsLive(to.userId)) continue; // one batch per client per round (see ProposalLedger.holdsLive)
      const batch: InFlight[] = [];
      for (const o of ready) {
        if (o === to) continue;
        let e = this.ledger.addFor(o.userId);
        if (!e) {
          const p = this.opts.sender.propose(this.groupId, 0n, { type: 'add', keyPackage: o.keyPackage!.raw });
          e = this.ledger.add(p, 'add', o.userId, -1, o.keyPackage!.raw);
        }
        batch.push(e);
      }
      for (const e of batch) e.recipients.add(to.userId);
      to.heldRound = true;
      this.send({ to: to.userId, kind: 'binary', op: 27, payload: appendPayload(batch.map((e) => e.message)) });
    }
  }

  /** Back to flow A; pending clients that hold proposals of an older round re-initialise first (op 24 epoch 1). */
  private resetGroup(): void {
    if (this.established) this.metrics.groupEstablished(-1);
    this.established = false;
    this.epochValue = 0n;
    this.leaves = [];
    this.ledger.retireAll();
    for (const c of this.clients.values()) {
      if (c.state === 'member') c.state = c.keyPackage ? 'pending' : 'awaiting_kp';
      c.leaf = null;
      if (c.hasSession && c.heldRound && c.state === 'pending') this.reinitClient(c);
    }
  }

  private reinitClient(c: Client): void {
    c.state = 'awaiting_kp';
    c.keyPackage = null;
    c.heldRound = false;
    c.leaf = null;
    this.send({ to: c.userId, kind: 'json', op: 24, d: { protocol_version: this.callVersion, epoch: 1 } });
  }

  private soleMemberReset(sole: Client): void {
    this.reinitClient(sole);
    this.send({ to: sole.userId, kind: 'json', op: 21, d: { transition_id: 0, protocol_version: this.callVersion } });
    this.metrics.transition('sole_member_reset');
    this.resetGroup();
    this.reconcileInitial();
  }

  private startDowngrade(): void {
    const withSession = [...this.clients.values()].filter((c) => c.hasSession).map((c) => c.userId);
    this.callVersion = 0;
    if (withSession.length === 0) return this.finishDowngrade();
    const t = this.beginTransition('downgrade', withSession);
    for (const to of withSession) this.send({ to, kind: 'json', op: 21, d: { transition_id: t.id, protocol_version: 0 } });
  }

  private finishDowngrade(): void {
    if (this.established) this.metrics.groupEstablished(-1);
    this.established = false;
    this.epochValue = 0n;
    this.leaves = [];
    this.ledger.retireAll();
    for (const c of this.clients.values()) {
      c.state = 'plain';
      c.keyPackage = null;
      c.leaf = null;
      c.heldRound = false;
    }
  }

  /** The last version-0 client left: every DAVE-capable client re-initialises at the new version and forms a group. */
  private upgrade(version: number): void {
    this.callVersion = version;
    this.metrics.transition('upgrade');
    for (const c of this.clients.values()) {
      if (c.maxVersion === 0) continue;
      c.hasSession = true;
      this.reinitClient(c);
      if (!c.externalSenderSent) this.sendExternalSender(c);
    }
  }
}
