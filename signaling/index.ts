/**
 * Voice signaling's public face: the Discord voice gateway v8 server (wss/ws), its admin API, and the part starter
 * `resound start voice` uses.
 */
import type { PartStarter } from '../common/part.ts';
import { loadSignalingConfig } from './config.ts';
import { startVoiceGateway } from './gateway.ts';
import { httpLimitsOf } from '../common/connection-guard.ts';

export { startVoiceGateway, type VoiceGateway, type VoiceGatewayOptions } from './gateway.ts';
export { loadSignalingConfig, plainListenerPort, signalingShape, type SignalingConfig } from './config.ts';
export { VoiceServer, type JoinGrant } from './voice-server.ts';
export { VoiceSession, type SessionState } from './session.ts';
export { VoiceChannel, type ChannelExtension } from './channel.ts';
export { Op, Close, type CloseCode } from './opcodes.ts';
export { VoiceTokenSigner, type VoiceTokenClaims } from './tokens.ts';
export { ReplayBuffer } from './replay-buffer.ts';
export { VoicePlacement, type ServerLoad } from './placement.ts';
export {
  DaveGroup,
  DaveMediaGate,
  ExternalSender,
  type DaveMetricsHooks,
  type DaveOutput,
  type E2eeMode,
  type TransitionKind,
} from './dave/index.ts';

export const startVoice: PartStarter = async (ctx) => {
  const config = loadSignalingConfig(ctx.env);
  const redisUrl = config.VOICE_PLACEMENT === 'redis' ? (await ctx.redis()).url : undefined;
  const gw = await startVoiceGateway({
    config,
    dataDir: ctx.common.RESOUND_DATA_DIR,
    bind: ctx.common.RESOUND_BIND,
    logger: ctx.logger,
    redisUrl,
    httpLimits: httpLimitsOf(ctx.common),
    internalBind: ctx.common.RESOUND_INTERNAL_BIND,
  });
  return {
    name: 'voice',
    urls: { wss: gw.wssUrl, ...(gw.wsUrl ? { ws: gw.wsUrl } : {}), internal: gw.internalUrl, endpoint: gw.endpoint },
    close: () => gw.close(),
  };
};
