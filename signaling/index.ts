/**
 * Voice signaling's public face: the Discord voice gateway v8 server (wss/ws), its admin API, and the part starter
 * `resound start voice` uses.
 */
import { availableParallelism } from 'node:os';
import type { PartContext, PartStarter, RunningPart } from '../common/part.ts';
import { loadSignalingConfig, type SignalingConfig } from './config.ts';
import { startVoiceGateway, type VoiceGateway } from './gateway.ts';
import { httpLimitsOf } from '../common/connection-guard.ts';

export { startVoiceGateway, type VoiceGateway, type VoiceGatewayOptions } from './gateway.ts';
export {
  loadSignalingConfig,
  plainListenerPort,
  signalingShape,
  voiceTokenSecret,
  type SignalingConfig,
} from './config.ts';
export { VoiceServer, type JoinGrant, type VoiceServerEvents } from './voice-server.ts';
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

/** The voice part and what bin/ wires to the platform: the running gateway and its configuration. */
export interface VoicePart {
  part: RunningPart;
  gateway: VoiceGateway;
  config: SignalingConfig;
}

export async function startVoicePart(ctx: PartContext): Promise<VoicePart> {
  const config = loadSignalingConfig(ctx.env);
  // Alone, voice is the machine's job: one SFU worker per core (mediasoup's model). Beside other parts, it shares.
  config.SFU_WORKERS ??= ctx.parts?.length === 1 ? availableParallelism() : 0;
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
  const part: RunningPart = {
    name: 'voice',
    urls: { wss: gw.wssUrl, ...(gw.wsUrl ? { ws: gw.wsUrl } : {}), internal: gw.internalUrl, endpoint: gw.endpoint },
    close: () => gw.close(),
  };
  return { part, gateway: gw, config };
}

export const startVoice: PartStarter = async (ctx) => (await startVoicePart(ctx)).part;
