import { z } from 'zod';
import { parseEnv, type Env } from '../../common/config.ts';

/** The voice bridge's variables (README "Gateway voice bridge" documents each one). */
export const voiceBridgeShape = {
  /** op 4 budget per gateway session: a burst of this many… */
  GATEWAY_LITE_VOICE_OP4_BURST: z.coerce.number().int().min(1).default(10),
  /** …refilled by one every this many ms. Beyond it the session is closed with 4008 (a client re-join storm). */
  GATEWAY_LITE_VOICE_OP4_REFILL_MS: z.coerce.number().int().min(1).default(6000),
  /** After a channel move, the old voice session still running after this long is ended (4006). */
  GATEWAY_LITE_VOICE_MOVE_GRACE_MS: z.coerce.number().int().min(0).default(5000),
};

export interface VoiceBridgeConfig {
  op4Burst: number;
  op4RefillMs: number;
  moveGraceMs: number;
}

export function loadVoiceBridgeConfig(env: Env = process.env): VoiceBridgeConfig {
  const e = parseEnv(voiceBridgeShape, env);
  return {
    op4Burst: e.GATEWAY_LITE_VOICE_OP4_BURST,
    op4RefillMs: e.GATEWAY_LITE_VOICE_OP4_REFILL_MS,
    moveGraceMs: e.GATEWAY_LITE_VOICE_MOVE_GRACE_MS,
  };
}
