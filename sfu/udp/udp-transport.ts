import { createTransportCipher, isServerRangeNonce, ReplayWindow, ServerNonceCounter } from '../crypto/index.ts';
import { NonceHistory } from '../crypto/nonce-history.ts';
import { NO_NONCE, type TransportCipher, type TransportMode } from '../crypto/types.ts';
import {
  ONE_BYTE_EXTENSION_PROFILE,
  RTP_FIXED_HEADER,
  writeExtensionPreamble,
  writeRtpHeader,
} from '../rtp/rtp-header.ts';
import { Transport, type OutgoingFrame } from '../transport.ts';
import type { DatagramIo, RemoteAddress, SendOwner } from './datagram-io.ts';

export type { RemoteAddress } from './datagram-io.ts';

/**
 * What `open` made of a datagram: `ok` (plaintext in `out`, its length in `lastPlaintextLength`) or why it was
 * refused. The refusals are the SFU's drop reasons of the same name.
 */
export type OpenResult = 'ok' | 'decrypt_failed' | 'replay' | 'no_transport_key';

/** Owner-side hooks: the Sfu frees the SSRC when the transport closes and counts copies the kernel refused. */
export interface UdpTransportHooks {
  release(transport: UdpTransport): void;
  sendFailed(transport: UdpTransport, code: string): void;
}

/**
 * How replays are recognised, by mode: the nonce counter (AEAD and `_lite` modes), the RTP sequence number, which
 * plain `xsalsa20_poly1305` authenticates because the header is its nonce, or the remembered random nonces (`_suffix`).
 */
type ReplayKind = 'counter' | 'sequence' | 'suffix';

const SUFFIX_NONCE_LENGTH = 24;

/**
 * The native Discord voice transport of one participant: shares the voice server's UDP socket, holds the session key
 * and cipher, the replay window for the client's nonces and the server's own nonce counter.
 */
export class UdpTransport extends Transport implements SendOwner {
  readonly kind = 'udp';
  remote: RemoteAddress | null = null;
  /** Token bucket of the sender's packet rate (tokens, last refill in ms), policed by the Sfu. */
  tokens = 0;
  refilledAt = 0;
  /** Plaintext length of the last datagram `open` accepted. */
  lastPlaintextLength = 0;
  /**
   * The only IP this transport's UDP may come from (the voice WebSocket's peer), or null for any (dual-stack or NAT
   * deployments, `SFU_UDP_PEER_MATCH=any`). Stops anyone from pointing the channel's media at a third party.
   */
  peerIp: string | null = null;
  /** When a datagram last came from `remote` (ms); the Sfu unbinds a remote that stays quiet too long. */
  heardAt = 0;
  private cipher: TransportCipher | null = null;
  private replayKind: ReplayKind = 'counter';
  private readonly replay = new ReplayWindow();
  private suffixNonces: NonceHistory | null = null;
  private readonly nonces = new ServerNonceCounter();
  private legacyScratch: Uint8Array | null = null;

  constructor(
    ssrc: number,
    private readonly io: DatagramIo,
    private readonly hooks: UdpTransportHooks,
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
    this.replayKind =
      mode === 'xsalsa20_poly1305' ? 'sequence' : mode === 'xsalsa20_poly1305_suffix' ? 'suffix' : 'counter';
    // A new key starts a new counter space.
    this.replay.reset();
    if (this.replayKind === 'suffix') (this.suffixNonces ??= new NonceHistory()).reset();
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
    if (this.replayKind === 'counter') {
      const nonce = cipher.lastNonce;
      if (nonce === NO_NONCE || isServerRangeNonce(nonce) || !this.replay.check(nonce)) return 'replay';
      this.replay.accept(nonce);
    } else if (this.replayKind === 'sequence') {
      const seq = this.extendSequence((packet[2] << 8) | packet[3]);
      if (!this.replay.check(seq)) return 'replay';
      this.replay.accept(seq);
    } else {
      const history = this.suffixNonces!;
      const at = length - SUFFIX_NONCE_LENGTH;
      if (history.has(packet, at)) return 'replay';
      history.add(packet, at);
    }
    this.lastHeaderLength = headerLength;
    this.lastPlaintextLength = n;
    return 'ok';
  }

  lastHeaderLength = RTP_FIXED_HEADER;

  /** The 16-bit RTP sequence number widened to 32 bits around the newest one accepted (as SRTP's index). */
  private extendSequence(seq: number): number {
    const top = this.replay.highest;
    const delta = ((seq - (top & 0xffff)) << 16) >> 16;
    return (top + delta) >>> 0;
  }

  /** Header bytes a sealed packet carries in the clear for this transport's mode. */
  private get rtpsize(): boolean {
    return this.cipher !== null && this.cipher.mode.endsWith('_rtpsize');
  }

  send(frame: OutgoingFrame): void {
    const cipher = this.cipher;
    const remote = this.remote;
    if (!cipher || !remote) return;
    const out = this.io.sendBuffer();
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
    this.bytesSent += n;
    this.packetsSent++;
    this.io.send(out, n, remote, this);
  }

  packetsSent = 0;
  bytesSent = 0;
  /** Copies the kernel refused (EAGAIN, ENOBUFS, an unreachable destination); not in `packetsSent`. */
  sendFailures = 0;

  /** The I/O layer could not send one of this transport's copies: a drop for this receiver only. */
  sendFailed(code: string): void {
    this.packetsSent--;
    this.sendFailures++;
    this.hooks.sendFailed(this, code);
  }

  protected release(): void {
    this.cipher?.close();
    this.cipher = null;
    this.hooks.release(this);
    this.remote = null;
  }
}
