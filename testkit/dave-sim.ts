/**
 * In-process harness: real @snazzah/davey sessions driven exactly as @discordjs/voice drives them (its DAVESession
 * wrapper and Networking binary/JSON handlers), wired to a DaveGroup through an ordered message queue. No network.
 * Anything davey throws where @discordjs/voice would not catch it is recorded as a client "crash".
 */
import Davey from '@snazzah/davey';
import {
  DaveGroup,
  ExternalSender,
  type DaveMetricsHooks,
  type DaveOutput,
  type E2eeMode,
  type TransitionKind,
} from '../signaling/index.ts';

type ToServer =
  | { kind: 'kp'; from: string; payload: Buffer }
  | { kind: 'commit'; from: string; payload: Buffer }
  | { kind: 'ready'; from: string; transitionId: number }
  | { kind: 'invalid'; from: string; transitionId: number };

type QueueItem =
  | { dir: 'down'; out: DaveOutput }
  | { dir: 'up'; msg: ToServer }
  | { dir: 'gw'; to: string; op: 11 | 13; userId: string };

export class CountingMetrics implements DaveMetricsHooks {
  groups = 0;
  epochs = 0;
  transitions: TransitionKind[] = [];
  racesLost = 0;
  invalid = 0;
  rejections: string[] = [];
  firstFrames: number[] = [];
  groupEstablished(d: 1 | -1): void {
    this.groups += d;
  }
  epochAdvanced(): void {
    this.epochs++;
  }
  transition(kind: TransitionKind): void {
    this.transitions.push(kind);
  }
  commitRaceLost(): void {
    this.racesLost++;
  }
  invalidCommitWelcome(): void {
    this.invalid++;
  }
  rejected(reason: string): void {
    this.rejections.push(reason);
  }
  joinToFirstE2eeFrame(s: number): void {
    this.firstFrames.push(s);
  }
}

export class SimClient {
  session: Davey.DAVESession | null = null;
  protocolVersion = 0;
  readonly connected = new Set<string>();
  readonly pending = new Map<number, number>();
  readonly transitioned: number[] = [];
  readonly crashes: Error[] = [];
  closedWith: number | null = null;
  /** Hook for tests that need to tamper with what the client sends. */
  rewriteUp: ((msg: ToServer) => ToServer | null) | null = null;

  constructor(
    readonly net: SimNet,
    readonly userId: string,
    readonly daveEnabled = true,
  ) {}

  get epoch(): bigint | null {
    return this.session?.epoch ?? null;
  }

  get code(): string {
    return this.session?.voicePrivacyCode ?? '';
  }

  get ready(): boolean {
    return this.session?.ready ?? false;
  }

  up(msg: ToServer): void {
    const m = this.rewriteUp ? this.rewriteUp(msg) : msg;
    if (m) this.net.queue.push({ dir: 'up', msg: m });
  }

  onOp4(version: number): void {
    this.protocolVersion = version;
    if (version > 0) this.reinit();
  }

  private reinit(): void {
    if (this.protocolVersion > 0) {
      if (this.session) this.session.reinit(this.protocolVersion, this.userId, this.net.channelId);
      else this.session = new Davey.DAVESession(this.protocolVersion, this.userId, this.net.channelId);
      this.up({ kind: 'kp', from: this.userId, payload: this.session.getSerializedKeyPackage() });
    } else if (this.session) {
      this.session.reset();
      this.session.setPassthroughMode(true, 10);
    }
  }

  private recover(transitionId: number): void {
    this.up({ kind: 'invalid', from: this.userId, transitionId });
    this.reinit();
  }

  deliver(out: DaveOutput): void {
    if (this.closedWith !== null) return;
    try {
      this.handle(out);
    } catch (err) {
      this.crashes.push(err as Error);
    }
  }

  private handle(out: DaveOutput): void {
    if (out.kind === 'close') {
      this.closedWith = out.code;
      this.net.leave(this.userId);
      return;
    }
    if (!this.daveEnabled) return; // no DAVE wrapper: @discordjs/voice ignores DAVE ops
    if (out.kind === 'json') {
      if (out.op === 21) {
        this.pending.set(out.d.transition_id, out.d.protocol_version);
        if (out.d.transition_id === 0) this.execute(0);
        else {
          if (out.d.protocol_version === 0) this.session?.setPassthroughMode(true, 24);
          this.up({ kind: 'ready', from: this.userId, transitionId: out.d.transition_id });
        }
      } else if (out.op === 22) {
        this.execute(out.d.transition_id);
      } else if (out.op === 24 && out.d.epoch === 1) {
        this.protocolVersion = out.d.protocol_version;
        this.reinit();
      }
      return;
    }
    if (!this.session) throw new Error('No session available'); // what @discordjs/voice throws, uncaught
    const p = out.payload;
    if (out.op === 25) this.session.setExternalSender(p);
    else if (out.op === 27) {
      const { commit, welcome } = this.session.processProposals(p[0], p.subarray(1), [...this.connected]);
      if (commit)
        this.up({ kind: 'commit', from: this.userId, payload: welcome ? Buffer.concat([commit, welcome]) : commit });
    } else if (out.op === 29 || out.op === 30) {
      const tid = p.readUInt16BE(0);
      try {
        if (out.op === 29) this.session.processCommit(p.subarray(2));
        else this.session.processWelcome(p.subarray(2));
      } catch {
        return this.recover(tid);
      }
      if (tid === 0) this.transitioned.push(0);
      else {
        this.pending.set(tid, this.protocolVersion);
        this.up({ kind: 'ready', from: this.userId, transitionId: tid });
      }
    }
  }

  private execute(tid: number): void {
    if (!this.pending.has(tid)) return;
    this.protocolVersion = this.pending.get(tid)!;
    this.pending.delete(tid);
    this.transitioned.push(tid);
  }

  encrypt(opus: Buffer): Buffer {
    if (this.protocolVersion === 0 || !this.session?.ready) return opus;
    return this.session.encryptOpus(opus);
  }
}

export class SimNet {
  readonly sender = new ExternalSender();
  readonly metrics = new CountingMetrics();
  readonly group: DaveGroup;
  readonly clients = new Map<string, SimClient>();
  readonly queue: QueueItem[] = [];
  /** Every output the group produced, for assertions on order and addressing. */
  readonly log: DaveOutput[] = [];

  constructor(
    readonly channelId = '1234567890123456789',
    mode: E2eeMode = 'optional',
    transitionTimeoutMs = 60_000,
  ) {
    this.group = new DaveGroup({
      channelId,
      mode,
      sender: this.sender,
      sink: (out) => {
        this.log.push(out);
        this.queue.push({ dir: 'down', out });
      },
      transitionTimeoutMs,
      metrics: this.metrics,
    });
  }

  /** Join the way the gateway does: op 11 both ways, then admit → op 4 → ready (op 25). */
  join(userId: string, daveEnabled = true): SimClient {
    const c = new SimClient(this, userId, daveEnabled);
    // op 11 both ways, queued like every other gateway message so it stays ordered with DAVE traffic.
    for (const other of this.clients.values()) {
      this.queue.push({ dir: 'gw', to: other.userId, op: 11, userId });
      c.connected.add(other.userId);
    }
    this.clients.set(userId, c);
    const admitted = this.group.admit(userId, daveEnabled ? 1 : 0);
    if (!admitted.ok) {
      c.closedWith = admitted.code;
      this.clients.delete(userId);
      return c;
    }
    c.onOp4(admitted.protocolVersion);
    this.group.ready(userId);
    return c;
  }

  leave(userId: string): void {
    if (!this.clients.delete(userId)) return;
    for (const other of this.clients.values()) this.queue.push({ dir: 'gw', to: other.userId, op: 13, userId });
    this.group.leave(userId);
  }

  /** Delivers queued messages in order until nothing is left (or `max` steps, against livelock). */
  pump(max = 10_000): void {
    for (let i = 0; i < max && this.queue.length > 0; i++) this.step(this.queue.shift()!);
    if (this.queue.length > 0) throw new Error('simulation did not settle');
  }

  step(item: QueueItem): void {
    if (item.dir === 'gw') {
      const c = this.clients.get(item.to);
      if (item.op === 11) c?.connected.add(item.userId);
      else c?.connected.delete(item.userId);
      return;
    }
    if (item.dir === 'down') {
      this.clients.get(item.out.to)?.deliver(item.out);
      return;
    }
    const m = item.msg;
    if (!this.clients.has(m.from)) return;
    if (m.kind === 'kp') this.group.keyPackage(m.from, m.payload);
    else if (m.kind === 'commit') this.group.commitWelcome(m.from, m.payload);
    else if (m.kind === 'ready') this.group.transitionReady(m.from, m.transitionId);
    else this.group.invalidCommitWelcome(m.from, m.transitionId);
  }

  crashes(): Error[] {
    return [...this.clients.values()].flatMap((c) => c.crashes);
  }
}

/** Fresh numeric snowflake-like ids so tests never collide. */
let nextId = 100_000_000_000_000_000n;
export function userId(): string {
  nextId += 1n;
  return nextId.toString();
}
