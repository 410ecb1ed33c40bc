/**
 * The SFU's public face. Object model: Sfu (one UDP socket per voice server) → Router (one per channel) →
 * Participant (a user's transport, inbound stream and per-sender rewriters) → Transport (native UDP today).
 */
export { Sfu, type SfuOptions } from './sfu.ts';
export { Router, type MediaGate, type InboundFrame, type RouterEvents } from './router.ts';
export { isOpusSilence, OPUS_SILENCE_FRAME, SILENCE_TAIL_FRAMES, SilenceTail } from './rtp/silence.ts';
export { Participant } from './participant.ts';
export type { Transport, TransportKind, OutgoingFrame } from './transport.ts';
export { UdpTransport, type RemoteAddress } from './udp/udp-transport.ts';
export { SfuMetrics, StreamStats, type DropReason } from './stats.ts';
export {
  TRANSPORT_MODES,
  isTransportMode,
  NO_NONCE,
  type TransportMode,
  type TransportCipher,
} from './crypto/types.ts';
export {
  createTransportCipher,
  preferredModes,
  describeCryptoBackends,
  backendsFor,
  loadLibsodiumWrappers,
  type CryptoBackend,
} from './crypto/index.ts';
export { cryptoShape } from './crypto/aes-gcm.ts';
export * from './rtp/rtp-header.ts';
export * from './udp/ip-discovery.ts';
export { StreamRewriter } from './rtp/stream-rewriter.ts';
