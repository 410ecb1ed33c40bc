import { EventEmitter } from 'node:events';
import type { TransportMode } from '../crypto/types.ts';
import type { ChannelMedia, E2eeGroupSource, MediaTransport } from '../media-plane.ts';
import type { Logger } from 'pino';
import { RouterPipe } from '../pipe.ts';
import { Router } from '../router.ts';
import type { SfuMetrics } from '../stats.ts';
import type { SfuWorker } from './sfu-worker.ts';

interface RemoteTransportEvents {
  routerclose: [];
}

/** A session's transport in a worker process: the calls become commands; its SSRC was chosen here. */
export class RemoteTransport extends EventEmitter<RemoteTransportEvents> implements MediaTransport {
  private ip: string | null = null;
  private isClosed = false;

  constructor(
    readonly ssrc: number,
    private readonly channel: RemoteChannel,
    private readonly worker: SfuWorker,
  ) {
    super();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get peerIp(): string | null {
    return this.ip;
  }

  set peerIp(ip: string | null) {
    this.ip = ip;
    if (!this.isClosed) this.worker.send({ t: 'peer-ip', ssrc: this.ssrc, ip });
  }

  setKey(mode: TransportMode, key: Uint8Array): void {
    if (!this.isClosed) this.worker.send({ t: 'key', ssrc: this.ssrc, mode, key });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.worker.send({ t: 'transport-close', ssrc: this.ssrc });
    this.channel.forget(this);
    this.removeAllListeners();
  }

  /** The channel closed (or its worker died): the worker's router took the transport along. */
  routerClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit('routerclose');
    this.removeAllListeners();
  }
}

export interface RemoteChannelHooks {
  /** A fresh SSRC unique on this channel's worker. */
  allocateSsrc(): number;
  releaseSsrc(ssrc: number): void;
  closed(channel: RemoteChannel): void;
  /** For the in-process end of a browser pipe: its router's metrics (not exported) and logger. */
  pipeMetrics: SfuMetrics;
  logger: Logger;
}

/** The in-process router of a worker-hosted channel that browsers joined, and its end of the pipe. */
interface PipedRouter {
  router: Router;
  pipe: RouterPipe;
}

/**
 * A voice channel whose router runs in an SFU worker process. It mirrors what signaling needs to know (transports,
 * participants, the E2EE member list it last sent) and turns each call into one ordered command.
 */
export class RemoteChannel implements ChannelMedia {
  readonly local: Router | null = null;
  private readonly transports = new Set<RemoteTransport>();
  private readonly participants = new Map<string, RemoteTransport>();
  private group: E2eeGroupSource | null = null;
  private sentMembers = new Set<string>();
  private diedListeners: Array<() => void> = [];
  private isClosed = false;
  private piped: Promise<PipedRouter> | null = null;
  private pipedNow: PipedRouter | null = null;

  constructor(
    readonly id: string,
    private readonly worker: SfuWorker,
    private readonly hooks: RemoteChannelHooks,
  ) {
    worker.send({ t: 'router', router: id });
  }

  get port(): number {
    return this.worker.port;
  }

  get workerId(): number {
    return this.worker.id;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get participantCount(): number {
    return this.participants.size;
  }

  createTransport(): RemoteTransport {
    if (this.isClosed) throw new Error(`channel ${this.id} is closed`);
    const ssrc = this.hooks.allocateSsrc();
    const t = new RemoteTransport(ssrc, this, this.worker);
    this.transports.add(t);
    this.worker.send({ t: 'transport', router: this.id, ssrc });
    return t;
  }

  addParticipant(userId: string, transport: MediaTransport): void {
    if (this.isClosed) throw new Error(`channel ${this.id} is closed`);
    if (!(transport instanceof RemoteTransport) || !this.transports.has(transport))
      throw new Error(`transport ${transport.ssrc} is not owned by ${this.id}`);
    const previous = this.participants.get(userId);
    if (previous && previous !== transport) previous.close();
    this.participants.set(userId, transport);
    this.worker.participants++;
    this.worker.send({ t: 'join', router: this.id, userId, ssrc: transport.ssrc });
    this.pipedNow?.pipe.addMember(userId, transport.ssrc, 'udp');
  }

  browserRouter(): Promise<Router> {
    if (this.isClosed) return Promise.reject(new Error(`channel ${this.id} is closed`));
    this.piped ??= this.openPipe();
    return this.piped.then((p) => p.router);
  }

  /**
   * Browser voice came to this channel: a router here, piped to the worker's (mediasoup's pipeToRouter). Natives are
   * members of this end (their frames come through the pipe, gated and rewritten by the worker); browsers that join
   * this router become members of the worker's end, so natives hear them through the worker like anyone else.
   */
  private async openPipe(): Promise<PipedRouter> {
    const { logger, pipeMetrics } = this.hooks;
    // The worker already synthesises silence tails; the pipe carries them.
    const router = new Router(this.id, pipeMetrics, logger, { silence: 'off' });
    const ssrc = this.hooks.allocateSsrc();
    try {
      const workerPort = await this.worker.openPipe(this.id, ssrc);
      const pipe = await RouterPipe.open(router, ssrc, logger);
      pipe.connect(workerPort);
      this.worker.send({ t: 'pipe-connect', router: this.id, port: pipe.port });
      if (this.isClosed) {
        router.close();
        throw new Error(`channel ${this.id} is closed`);
      }
      for (const [userId, t] of this.participants) pipe.addMember(userId, t.ssrc, 'udp');
      const member = (p: { userId: string; ssrc: number; transport: { kind: string } }, on: boolean) => {
        if (p.transport.kind !== 'webrtc') return;
        this.worker.send({ t: 'pipe-member', router: this.id, userId: p.userId, ssrc: p.ssrc, kind: 'webrtc', on });
      };
      router.observer.on('newparticipant', (p) => member(p, true));
      router.observer.on('participantclose', (p) => member(p, false));
      this.pipedNow = { router, pipe };
      return this.pipedNow;
    } catch (err) {
      this.hooks.releaseSsrc(ssrc);
      this.piped = null;
      throw err;
    }
  }

  /** RemoteTransport only: it closed. */
  forget(t: RemoteTransport): void {
    if (!this.transports.delete(t)) return;
    this.hooks.releaseSsrc(t.ssrc);
    for (const [userId, held] of this.participants) {
      if (held !== t) continue;
      this.participants.delete(userId);
      this.worker.participants--;
      this.pipedNow?.pipe.removeMember(t.ssrc);
    }
  }

  setServerMute(userId: string, muted: boolean): void {
    this.worker.send({ t: 'mute', router: this.id, userId, muted });
  }

  setDeafened(userId: string, deafened: boolean): void {
    this.worker.send({ t: 'deafen', router: this.id, userId, deafened });
  }

  speakingEnded(userId: string): void {
    this.worker.send({ t: 'speaking-ended', router: this.id, userId });
  }

  setE2eeGroup(group: E2eeGroupSource | null): void {
    this.group = group;
    this.sentMembers = new Set();
    this.worker.send({ t: 'gate', router: this.id, on: group !== null });
    this.syncE2eeMembers();
  }

  /** Sends the member list's changes since the last call (a channel's group is small: a diff of a few ids). */
  syncE2eeMembers(): void {
    const group = this.group;
    if (!group || this.isClosed) return;
    const now = new Set(group.memberIds());
    for (const userId of now)
      if (!this.sentMembers.has(userId)) this.worker.send({ t: 'member', router: this.id, userId, member: true });
    for (const userId of this.sentMembers)
      if (!now.has(userId)) this.worker.send({ t: 'member', router: this.id, userId, member: false });
    this.sentMembers = now;
  }

  /** The worker saw a member's first E2EE frame. */
  e2eeFrame(userId: string): void {
    this.group?.noteE2eeFrame(userId);
  }

  onWorkerDied(listener: () => void): void {
    this.diedListeners.push(listener);
  }

  /** The pool: this channel's worker died. Listeners first (sessions end with 4006), then the channel closes. */
  workerDied(): void {
    if (this.isClosed) return;
    const listeners = this.diedListeners;
    this.diedListeners = [];
    for (const l of listeners) l();
    this.shut(false);
  }

  close(): void {
    this.shut(true);
  }

  private shut(tellWorker: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.group = null;
    this.diedListeners = [];
    if (tellWorker) this.worker.send({ t: 'router-close', router: this.id });
    for (const t of [...this.transports]) {
      this.hooks.releaseSsrc(t.ssrc);
      t.routerClosed();
    }
    this.worker.participants -= this.participants.size;
    this.participants.clear();
    this.transports.clear();
    // Closing the in-process end closes browser voice's channel with it (its native router went away).
    this.pipedNow?.router.close();
    this.pipedNow = null;
    this.hooks.closed(this);
  }
}
