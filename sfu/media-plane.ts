import type { TransportMode } from './crypto/types.ts';
import type { E2eeMembership } from './e2ee-gate.ts';
import type { Router } from './router.ts';

/**
 * The group a channel's E2EE gate follows, as the signaling process holds it: the gate's questions, plus the member
 * list a worker's mirror is brought up to date from.
 */
export interface E2eeGroupSource extends E2eeMembership {
  memberIds(): Iterable<string>;
}

/** What a voice session holds of its media transport, wherever the transport lives (this process or a worker). */
export interface MediaTransport {
  readonly ssrc: number;
  /** The only IP its UDP may come from (the WebSocket peer's), or null for any. */
  peerIp: string | null;
  /** Installs the session key chosen at Select Protocol; media flows from then on. */
  setKey(mode: TransportMode, key: Uint8Array): void;
  close(): void;
  /** The channel's media closed under the transport (admin close, shutdown). Once. */
  once(event: 'routerclose', listener: () => void): unknown;
}

/**
 * One voice channel's media as signaling drives it: the native `Router` in this process, or a `RemoteChannel` whose
 * router runs in an SFU worker process. Every call is synchronous; a remote channel queues the command in order.
 */
export interface ChannelMedia {
  readonly id: string;
  /** The UDP port this channel's clients send to (Ready.port): its worker's. */
  readonly port: number;
  /** Which worker hosts it (0 when the SFU runs in this process). */
  readonly workerId: number;
  /** The router itself when it runs in this process, else null. */
  readonly local: Router | null;
  /**
   * A router in this process carrying the whole channel, for browser voice to bridge into: the router itself, or for
   * a worker-hosted channel a router piped to the worker's (every native speaker arrives through the pipe, every
   * browser leaves through it). Made on first use.
   */
  browserRouter(): Promise<Router>;
  createTransport(): MediaTransport;
  addParticipant(userId: string, transport: MediaTransport): void;
  setServerMute(userId: string, muted: boolean): void;
  setDeafened(userId: string, deafened: boolean): void;
  /** The sender said it stopped speaking: end its spurt with a silence tail if it owes one. */
  speakingEnded(userId: string): void;
  /** Gates delivery by E2EE group membership (DAVE), or with null stops gating. */
  setE2eeGroup(group: E2eeGroupSource | null): void;
  /** The group's membership may have changed: bring the gate up to date (a no-op where it reads the group). */
  syncE2eeMembers(): void;
  /**
   * `listener` runs once if the worker process hosting this channel dies, before the channel's transports hear
   * `routerclose`: its clients must join again (on a live worker). Never for an in-process router.
   */
  onWorkerDied(listener: () => void): void;
  close(): void;
}

/** The media plane of a voice server: the in-process `Sfu`, or a pool of SFU worker processes. */
export interface MediaPlane {
  readonly publicIp: string;
  /** A new channel's media, on the least loaded worker. */
  createChannel(id: string): ChannelMedia;
  close(): Promise<void>;
}
