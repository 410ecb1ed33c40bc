import { EventEmitter } from 'node:events';
import type { TransportMode } from '../crypto/types.ts';
import type { ChannelMedia, E2eeGroupSource, MediaTransport } from '../media-plane.ts';
import type { Router } from '../router.ts';
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
  }

  /** RemoteTransport only: it closed. */
  forget(t: RemoteTransport): void {
    if (!this.transports.delete(t)) return;
    this.hooks.releaseSsrc(t.ssrc);
    for (const [userId, held] of this.participants) {
      if (held !== t) continue;
      this.participants.delete(userId);
      this.worker.participants--;
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
    this.hooks.closed(this);
  }
}
