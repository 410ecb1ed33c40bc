/**
 * The SFU's public face. Object model, mediasoup's way: Sfu (the worker: one UDP socket, the SSRC table) → Router
 * (one per channel; `sfu.createRouter`) → Transport (owned by its router; `router.createTransport`) → Participant
 * (a user on a transport: inbound stream and per-sender rewriters). `close()` cascades down that chain and every
 * child hears it once (`workerclose`, `routerclose`, `transportclose`); `observer` emitters are for monitoring.
 */
export { Sfu, type SfuOptions, type SfuObserverEvents } from './sfu.ts';
export {
  Router,
  inboundFrame,
  type MediaGate,
  type InboundFrame,
  type RouterEvents,
  type RouterObserverEvents,
  type RouterOptions,
  type UdpTransportFactory,
} from './router.ts';
export {
  isOpusSilence,
  OPUS_SILENCE_FRAME,
  SILENCE_TAIL_FRAMES,
  SILENCE_SYNTHESIS_MODES,
  SilenceTail,
  type SilenceSynthesis,
} from './rtp/silence.ts';
export { Participant, type ParticipantEvents } from './participant.ts';
export { E2eeGate, MirroredMembership, type E2eeMembership } from './e2ee-gate.ts';
export type { ChannelMedia, E2eeGroupSource, MediaPlane, MediaTransport } from './media-plane.ts';
export { Transport, type OutgoingFrame, type TransportEvents, type TransportObserverEvents } from './transport.ts';
export { UdpTransport, type RemoteAddress, type OpenResult } from './udp/udp-transport.ts';
export { ioShape, IO_CHOICES, MAX_DATAGRAM_BYTES, type IoChoice, type IoPath } from './udp/datagram-io.ts';
export { SfuMetrics, StreamStats, type DropReason } from './stats.ts';
export {
  TRANSPORT_MODES,
  isTransportMode,
  isLegacyMode,
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
export * from './webrtc/index.ts';
export { SfuWorkerPool, type SfuWorkerPoolOptions } from './workers/pool.ts';
export { SfuWorker } from './workers/sfu-worker.ts';
export { RemoteChannel, RemoteTransport } from './workers/remote-channel.ts';
export type { WorkerInit, WorkerLoad } from './workers/protocol.ts';
