import { EventEmitter } from 'node:events';
import type { Participant } from './participant.ts';

/** One outgoing Opus frame, filled in place by the router for each receiver (no per-packet allocation). */
export interface OutgoingFrame {
  /** SSRC of the sender as receivers know it from op 5. */
  ssrc: number;
  sequence: number;
  timestamp: number;
  marker: boolean;
  payloadType: number;
  /** One-byte header extension (profile 0xBEDE) to pass through, or 0 words for none. */
  extensionWords: number;
  /**
   * `data[offset, offset + extensionWords·4)` is the extension body, immediately followed by the Opus payload of
   * `payloadLength` bytes. Keeping them contiguous lets rtpsize transports encrypt straight from the sender's buffer.
   */
  data: Uint8Array;
  offset: number;
  payloadLength: number;
}

/** What a transport's user hears. `routerclose` fires once, only when the owning router closed it. */
export interface TransportEvents {
  routerclose: [];
  /** Internal, for the owning router: the transport closed for whatever reason (fires once). */
  '@close': [];
}

/** What monitoring hears, whatever closed the transport. */
export interface TransportObserverEvents {
  close: [];
}

/**
 * A media transport: how one participant's media enters and leaves a router (mediasoup's Transport). The native
 * Discord UDP transport (`UdpTransport`) is the one kind today; a mediasoup WebRTC transport for browsers is meant to
 * be the next, and this is the whole contract it has to meet:
 *
 * - It is created by, and owned by, one router (`router.createTransport()` for UDP; `router.adoptTransport(t)` for a
 *   transport built elsewhere, e.g. around a mediasoup WebRtcTransport). It never outlives that router.
 * - `ssrc` names the participant's outgoing stream to receivers (op 5 on the native gateway); unique per router.
 * - Inbound: once it has authenticated and decrypted a frame it hands it to `participant.router.forward(...)`; it
 *   never forwards for a transport that has no participant.
 * - Outbound: `send(frame)` is synchronous, must not keep a reference to `frame` or its buffer after returning (the
 *   router reuses both for the next receiver), and silently drops frames while the transport is not connected.
 * - `close()` is idempotent. It releases the transport's resources, emits `@close` once (the router then removes the
 *   participant, which hears `transportclose`) and `observer` `close` once. When the router closes, it calls
 *   `routerClosed()` instead: the transport emits `routerclose` once and then closes the same way.
 */
export abstract class Transport extends EventEmitter<TransportEvents> {
  /** Transport family, for logs and metrics ('udp' today). */
  abstract readonly kind: string;
  /** For monitoring; the owner listens to the transport itself. */
  readonly observer = new EventEmitter<TransportObserverEvents>();
  /** The participant whose media uses this transport, set by the router when the participant joins. */
  participant: Participant | null = null;
  private isClosed = false;

  constructor(readonly ssrc: number) {
    super();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends one frame to the peer; a transport not yet connected drops it silently. */
  abstract send(frame: OutgoingFrame): void;

  /** Releases what the transport holds (keys, bindings); called once, on close. */
  protected abstract release(): void;

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.release();
    this.emit('@close');
    this.observer.emit('close');
    this.removeAllListeners();
    this.observer.removeAllListeners();
  }

  /** Called by the owning router as it closes. */
  routerClosed(): void {
    if (this.isClosed) return;
    this.emit('routerclose');
    this.close();
  }
}
