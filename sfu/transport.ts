/**
 * A media transport: how one participant's media enters and leaves a router. The native Discord UDP transport is one
 * kind; WebRTC (mediasoup) transports for browsers are another, bridged into the same routers.
 */
export type TransportKind = 'udp' | 'webrtc';

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

export interface Transport {
  readonly kind: TransportKind;
  readonly closed: boolean;
  /** Sends one frame to the peer; a transport not yet connected drops it silently. */
  send(frame: OutgoingFrame): void;
  close(): void;
}
