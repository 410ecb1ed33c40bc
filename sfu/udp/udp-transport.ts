import type { Socket } from 'node:dgram';
import { createTransportCipher, isServerRangeNonce, ReplayWindow, ServerNonceCounter } from '../crypto/index.ts';
import { NO_NONCE, type TransportCipher, type TransportMode } from '../crypto/types.ts';
import {
  ONE_BYTE_EXTENSION_PROFILE,
  RTP_FIXED_HEADER,
  writeExtensionPreamble,
  writeRtpHeader,
} from '../rtp/rtp-header.ts';
import { Transport, type OutgoingFrame } from '../transport.ts';
import type { SendRing } from './send-ring.ts';

/** Where an authenticated datagram of this transport's SSRC came from. */
export interface RemoteAddress {
  address: string;
  port: number;
}

/**
 * What `open` made of a datagram: `ok` (plaintext in `out`, its length in `lastPlaintextLength`) or why it was
 * refused. The refusals are the SFU's drop reasons of the same name.
 */
export type OpenResult = 'ok' | 'decrypt_failed' | 'replay' | 'no_transport_key';

/** Owner-side hooks: the Sfu frees the SSRC when the transport closes. */
export type UdpTransportRelease = (transport: UdpTransport) => void;

/**
 * The native Discord voice transport of one participant: shares the voice server's UDP socket, holds the session key
 * and cipher, the replay window for the client's nonces and the server's own nonce counter.
 */
export class UdpTransport extends Transport {
  readonly kind = 'udp';
  remote: RemoteAddress | null = null;
  /** Token bucket of the sender's packet rate (tokens, last refill in ms), policed by the Sfu. */
  tokens = 0;
  refilledAt = 0;
  /** Plaintext length of the last datagram `open` accepted. */
  lastPlaintextLength = 0;
  private cipher: TransportCipher | null = null;
  private readonly replay = new ReplayWindow();
  private readonly nonces = new ServerNonceCounter();
  private legacyScratch: Uint8Array | null = null;

  constructor(
    ssrc: number,
    private readonly socket: Socket,
    private readonly ring: SendRing,
    private readonly onRelease: UdpTransportRelease,
  ) {
    super(ssrc);
  }

  get mode(): TransportMode | null {
    return this.cipher?.mode ?? null;
  }

  /** Installs the session key chosen at Select Protocol; media flows from then on. */
  setKey(mode: TransportMode, key: Uint8Array): void {
    this.cipher?.close();
    this.cipher = createTransportCipher(mode, key);
    this.replay.reset(); // a new key starts a new counter space
  }

  get hasKey(): boolean {
    return this.cipher !== null;
  }

  /**
   * Authenticates and decrypts one inbound datagram into `out`. On 'ok' the plaintext length is in
   * `lastPlaintextLength` and the unencrypted header length in `lastHeaderLength`.
   */
  open(packet: Uint8Array, length: number, out: Uint8Array): OpenResult {
    const cipher = this.cipher;
    if (!cipher) return 'no_transport_key';
    const headerLength = cipher.headerLength(packet, length);
    if (headerLength < 0) return 'decrypt_failed';
    const n = cipher.open(packet, length, headerLength, out);
    if (n < 0) return 'decrypt_failed';
    // Checked after authentication so garbage is never mistaken for a replay. A counter from the server's own range
    // is one of our packets reflected back: it authenticates (both directions share the key), so it counts as one.
    const nonce = cipher.lastNonce;
    if (nonce !== NO_NONCE) {
      if (isServerRangeNonce(nonce) || !this.replay.check(nonce)) return 'replay';
      this.replay.accept(nonce);
    }
    this.lastHeaderLength = headerLength;
    this.lastPlaintextLength = n;
    return 'ok';
  }

  lastHeaderLength = RTP_FIXED_HEADER;

  /** Header bytes a sealed packet carries in the clear for this transport's mode. */
  private get rtpsize(): boolean {
    return this.cipher !== null && this.cipher.mode.endsWith('_rtpsize');
  }

  send(frame: OutgoingFrame): void {
    const cipher = this.cipher;
    const remote = this.remote;
    if (!cipher || !remote) return;
    const out = this.ring.next();
    const ext = frame.extensionWords > 0;
    let header = writeRtpHeader(out, frame.payloadType, frame.marker, frame.sequence, frame.timestamp, frame.ssrc, ext);
    const plainLength = frame.extensionWords * 4 + frame.payloadLength;
    if (ext && this.rtpsize) {
      header = writeExtensionPreamble(out, header, ONE_BYTE_EXTENSION_PROFILE, frame.extensionWords);
    } else if (ext) {
      // Legacy modes encrypt the preamble too: assemble preamble + body + payload in a scratch buffer (old clients only).
      const scratch = (this.legacyScratch ??= new Uint8Array(2048));
      writeExtensionPreamble(scratch, 0, ONE_BYTE_EXTENSION_PROFILE, frame.extensionWords);
      scratch.set(frame.data.subarray(frame.offset, frame.offset + plainLength), 4);
      return this.sealAndSend(cipher, out, header, scratch, plainLength + 4, remote, 0);
    }
    this.sealAndSend(cipher, out, header, frame.data, plainLength, remote, frame.offset);
  }

  private sealAndSend(
    cipher: TransportCipher,
    out: Uint8Array,
    header: number,
    plain: Uint8Array,
    plainLength: number,
    remote: RemoteAddress,
    plainOffset: number,
  ): void {
    const n = cipher.seal(out, header, plain, plainLength, this.nonces.next(), plainOffset);
    this.socket.send(out, 0, n, remote.port, remote.address);
    this.bytesSent += n;
    this.packetsSent++;
  }

  packetsSent = 0;
  bytesSent = 0;

  protected release(): void {
    this.cipher?.close();
    this.cipher = null;
    this.remote = null;
    this.onRelease(this);
  }
}
