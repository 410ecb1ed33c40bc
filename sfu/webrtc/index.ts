/**
 * Browser voice's media engine (mediasoup), bridged to the native SFU. Usage from the signaling side:
 *
 *   const engine = new WebRtcEngine({ listenIp }, log); const status = await engine.start();
 *   if (!status.available) → tell browsers status.reason (e.g. "run `npm run setup:webrtc`").
 *   const ch = await engine.channel(routerKey, nativeRouter);        // once per voice channel
 *   const peer = await ch.addBrowser(userId, ssrc);                  // peer.local → the ≤1 KB description
 *   await peer.connect({ fingerprints, role: 'client' });            // from the browser's SDP
 *   await peer.produce({ mid, ssrc, payloadType: 111, audioLevelExtId });
 *   peer.consumers / peer.on('consumer' | 'consumerclose' | 'rejoin'); ch.on('speaking', (userId, on) => …);
 *
 * The browser is a participant of the native router under `ssrc`, so native clients see it in op 5 like anyone.
 */
export { WebRtcEngine, type WebRtcEngineEvents } from './engine.ts';
export { WebRtcChannel, type WebRtcChannelEvents } from './channel.ts';
export { BrowserPeer, BrowserTransport, type BrowserPeerEvents } from './browser-peer.ts';
export { Bridge, BRIDGE_USER_ID } from './bridge.ts';
export { WorkerPool, type PoolSlot, type WorkerPoolEvents } from './worker-pool.ts';
export { resolveWorkerBin, resetWorkerBinCache, SETUP_COMMAND, type WorkerBinResult } from './worker-bin.ts';
export { WEBRTC_OPUS_PT, AUDIO_LEVEL_URI, MID_URI, ROUTER_CODECS, CONSUMER_CAPABILITIES } from './codec.ts';
export type * from './types.ts';
export { WebRtcMetrics } from './metrics.ts';
