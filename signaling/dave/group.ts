import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import { applyMembership, checkCommit } from './commit-check.ts';
import { newClient, resetClient, type DaveClient as Client } from './client.ts';
import { ExternalSender, groupIdFor, revokePayload } from './external-sender.ts';
import { ProposalLedger, type InFlight } from './ledger.ts';
import { ProposalPlanner, type ProposalSend } from './planner.ts';
import { TransitionTracker } from './transitions.ts';
import { intakeCommit, intakeKeyPackage } from './intake.ts';
import {
  DAVE_MAX_PROTOCOL_VERSION,
  DaveClose,
  REJECTION_CLOSE,
  noopDaveMetrics,
  type AdmitResult,
  type DaveMetricsHooks,
  type DaveOutput,
  type DaveRejection,
  type E2eeMode,
  type MediaRole,
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
  /** After a transition executed on its timeout (membership may have changed without a client message). */
  onTransitionExecuted?: () => void;
}

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
  private readonly transitions: TransitionTracker;
  private readonly planner: ProposalPlanner;
  private closed = false;
  private readonly metrics: DaveMetricsHooks;
  private readonly warn: RateLimitedLog | null;
  private readonly now: () => number;

  constructor(private readonly opts: DaveGroupOptions) {
    this.channelId = opts.channelId;
    this.groupId = groupIdFor(opts.channelId);
    this.callVersion = opts.mode === 'off' ? 0 : DAVE_MAX_PROTOCOL_VERSION;
    this.metrics = opts.metrics ?? noopDaveMetrics;
    this.warn = opts.logger ? new RateLimitedLog(opts.logger) : null;
    this.transitions = new TransitionTracker(opts.transitionTimeoutMs ?? 3000, () => {
      this.executeTransition();
      opts.onTransitionExecuted?.();
    });
    this.planner = new ProposalPlanner(opts.sender, this.groupId, this.ledger);
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
    return this.transitions.current?.id ?? null;
  }

  /** Hot path of the SFU gate: one map lookup per (frame, receiver). */
  isMember(userId: string): boolean {
    return this.clients.get(userId)?.state === 'member';
  }

  /** Users whose media is end-to-end encrypted now (the SFU's gate mirrors this list). */
  *memberIds(): Iterable<string> {
    for (const [userId, c] of this.clients) if (c.state === 'member') yield userId;
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
      this.metrics.rejected('e2ee_required');
      return { ok: false, code: DaveClose.E2eeRequired, reason: 'this channel requires end-to-end encryption (DAVE)' };
    }
    const prior = this.clients.get(userId);
    if (prior) this.leave(userId);
    const version = this.opts.mode === 'off' || offered === 0 ? 0 : this.callVersion;
    this.clients.set(userId, newClient(userId, offered, version, this.now()));
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
    // Key packages the server asked for (session start, op 24) are free; only unsolicited ones count.
    const solicited = c.kpSolicited;
    c.kpSolicited = false;
    if (!solicited && !c.kpRate.allow(this.now()))
      return this.reject(c, 'kp_flood', 'too many key packages; a client sends one per re-initialisation');
    const kp = intakeKeyPackage(payload, userId, this.now());
    if (!kp.ok) return this.reject(c, kp.reason, kp.detail);
    if (!c.hasSession || this.callVersion === 0) return; // a late key package from before a downgrade
    // A key package means the client re-initialised: any leaf it held is dead and its epoch-0 state is fresh.
    const completedTransition = this.clientReinitialised(c);
    c.keyPackage = kp.value;
    c.state = 'pending';
    if (completedTransition) this.executeTransition();
    else this.reconcile();
  }

  commitWelcome(userId: string, payload: Buffer): void {
    const c = this.clients.get(userId);
    if (!c) return;
    if (this.callVersion === 0 || c.state === 'plain') return this.stale('commit while the call is not using DAVE');
    const intake = intakeCommit(payload);
    if (!intake.ok) return this.reject(c, intake.reason, intake.detail);
    const parsed = intake.value;
    const key = parsed.pathLeaf?.signatureKey;
    if (
      parsed.proposalRefs.some((r) => c.abandonedRefs.has(r.toString('hex'))) ||
      (key && c.oldSignatureKeys.some((k) => k.equals(key)))
    ) {
      this.metrics.commitRaceLost();
      return this.stale('commit made before the client re-initialised');
    }
    const expectedLeaf = this.established ? (c.state === 'member' ? c.leaf : null) : c.state === 'pending' ? 0 : null;
    const verdict = checkCommit(parsed, {
      groupId: this.groupId,
      epoch: this.epochValue,
      maxEpoch: this.maxEpoch,
      busy: this.transitions.current !== null,
      committer: userId,
      expectedLeaf,
      committerIdentity: c.identity,
      committerSignatureKey: c.keyPackage?.leafNode.signatureKey ?? null,
      ledger: this.ledger,
    });
    if (verdict.kind === 'stale') {
      this.metrics.commitRaceLost();
      return this.stale(verdict.why);
    }
    if (verdict.kind === 'reject') return this.reject(c, verdict.reason, verdict.detail);
    this.acceptCommit(c, parsed.commitMessage, parsed.welcome, verdict.adds, verdict.removes);
  }

  transitionReady(userId: string, transitionId: number): void {
    if (this.transitions.ready(userId, transitionId)) this.executeTransition();
  }

  /** op 31: the client failed a commit or Welcome and re-initialises; its leaf is dead until it is added again. */
  invalidCommitWelcome(userId: string, transitionId: number): void {
    const c = this.clients.get(userId);
    this.metrics.invalidCommitWelcome();
    this.warn?.warn(
      `dave-op31:${this.channelId}`,
      { userId, transitionId, channelId: this.channelId },
      'client reported an invalid commit or welcome',
    );
    if (!c || !c.hasSession) return;
    if (this.clientReinitialised(c)) this.executeTransition();
    else this.reconcile();
  }

  leave(userId: string): void {
    const c = this.clients.get(userId);
    if (!c) return;
    this.clients.delete(userId);
    this.ledger.dropRecipient(userId);
    this.revokeAddsOf(userId);
    if (this.transitions.drop(userId, true)) return this.executeTransition();
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
    this.transitions.finish();
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
    this.warn?.warn(
      `dave-reject:${reason}`,
      { userId: c.userId, channelId: this.channelId, reason, detail },
      'rejected DAVE input',
    );
    this.send({
      to: c.userId,
      kind: 'close',
      code: REJECTION_CLOSE[reason],
      reason: `${reason}: ${detail}`.slice(0, 120),
    });
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

  /**
   * The client threw its MLS state away (new key package, op 31): revoke its pending Add, forget what it held, and
   * stop waiting for its op 23. Returns true when that completed the transition in flight.
   */
  private clientReinitialised(c: Client): boolean {
    // First forget what it held: its fresh state has none of it, and a revoke of unknown proposals crashes davey.
    if (c.abandonedRefs.size > 256) c.abandonedRefs.clear();
    for (const ref of this.ledger.takeRecipient(c.userId)) c.abandonedRefs.add(ref);
    this.revokeAddsOf(c.userId);
    resetClient(c);
    return this.transitions.drop(c.userId, false);
  }

  /**
   * A pending user's Add must not be committed any more (it left or re-initialised). davey re-commits what is left
   * after a partial revoke without a Welcome, which would strand the other joiners, so the whole round is revoked at
   * everyone who holds part of it and reconcile() re-proposes what is still wanted.
   */
  private revokeAddsOf(userId: string): void {
    if (!this.ledger.addFor(userId)) return;
    for (const [to, refs] of this.ledger.revokeAll()) {
      if (this.clients.has(to)) this.send({ to, kind: 'binary', op: 27, payload: revokePayload(refs) });
    }
  }

  private executeTransition(): void {
    const t = this.transitions.finish();
    if (!t) return;
    for (const to of t.participants)
      if (this.clients.has(to)) this.send({ to, kind: 'json', op: 22, d: { transition_id: t.id } });
    if (t.kind === 'downgrade') this.finishDowngrade();
    this.reconcile();
  }

  private acceptCommit(
    committer: Client,
    commit: Buffer,
    welcome: Buffer | null,
    adds: InFlight[],
    removes: InFlight[],
  ): void {
    const previous = this.established ? this.members() : [committer];
    const removedUsers = new Set(
      removes.map((r) => this.leaves[r.leaf]).filter((u): u is string => u !== null && u !== undefined),
    );
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
      if (rc?.state === 'member' && rc.leaf !== null && this.leaves[rc.leaf] !== u)
        rc.state = rc.keyPackage ? 'pending' : 'awaiting_kp';
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
    const t = this.transitions.begin(
      'commit',
      [...oldMembers, ...added].map((c) => c.userId),
    );
    this.metrics.transition('commit');
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
    if (this.closed || this.transitions.current) return;
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
    const deadLeaves = dead.map((leaf) => ({ leaf, userId: this.leaves[leaf] ?? '' }));
    const pending = [...this.clients.values()].filter(
      (c) => c.state === 'pending' && c.keyPackage && c.externalSenderSent,
    );
    this.sendProposals(this.planner.established(this.epochValue, live, deadLeaves, pending));
  }

  /** Flow A: every pending client with a key package gets an epoch-0 Add for each of the others. */
  private reconcileInitial(): void {
    this.sendProposals(
      this.planner.initial(
        [...this.clients.values()].filter((c) => c.state === 'pending' && c.keyPackage && c.externalSenderSent),
      ),
    );
  }

  private sendProposals(sends: ProposalSend[]): void {
    for (const p of sends) this.send({ to: p.to, kind: 'binary', op: 27, payload: p.payload });
  }

  /** Back to flow A; pending clients that hold proposals of an older round re-initialise first (op 24 epoch 1). */
  private resetGroup(): void {
    this.clearGroupState();
    for (const c of this.clients.values()) {
      if (c.state === 'member') c.state = c.keyPackage ? 'pending' : 'awaiting_kp';
      c.leaf = null;
      if (c.hasSession && c.heldRound && c.state === 'pending') this.reinitClient(c);
    }
  }

  private reinitClient(c: Client): void {
    resetClient(c);
    c.kpSolicited = true;
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
    const t = this.transitions.begin('downgrade', withSession);
    this.metrics.transition('downgrade');
    for (const to of withSession)
      this.send({ to, kind: 'json', op: 21, d: { transition_id: t.id, protocol_version: 0 } });
  }

  /** The server's view of the MLS group is gone (reset or downgrade): no epoch, no leaves, no live proposals. */
  private clearGroupState(): void {
    if (this.established) this.metrics.groupEstablished(-1);
    this.established = false;
    this.epochValue = 0n;
    this.leaves = [];
    this.ledger.retireAll();
  }

  private finishDowngrade(): void {
    this.clearGroupState();
    for (const c of this.clients.values()) {
      resetClient(c);
      c.state = 'plain';
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
