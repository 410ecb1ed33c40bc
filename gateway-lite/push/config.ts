import { z } from 'zod';
import { ConfigError, parseEnv, type Env } from '../../common/config.ts';

const int = (dflt: number, min = 1) => z.coerce.number().int().min(min).default(dflt);

/** Push variables (README "Push notifications" documents each). */
export const pushShape = {
  /** Where the default sink POSTs signed batches; unset = push off. */
  GATEWAY_LITE_PUSH_WEBHOOK_URL: z.string().url().optional(),
  /** HMAC-SHA256 key for X-Resound-Signature (required with the URL). */
  GATEWAY_LITE_PUSH_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Collector bound: notifications beyond it are shed. */
  GATEWAY_LITE_PUSH_BUFFER: int(10_000),
  GATEWAY_LITE_PUSH_PUSHERS: int(4),
  GATEWAY_LITE_PUSH_BATCH: int(100),
  GATEWAY_LITE_PUSH_TIMEOUT_MS: int(5000, 100),
};

export interface PushConfig {
  webhook?: { url: string; secret: string; timeoutMs: number };
  capacity: number;
  concurrency: number;
  batchSize: number;
}

export function loadPushConfig(env: Env): PushConfig {
  const e = parseEnv(pushShape, env);
  if (e.GATEWAY_LITE_PUSH_WEBHOOK_URL && !e.GATEWAY_LITE_PUSH_WEBHOOK_SECRET)
    throw new ConfigError([
      'GATEWAY_LITE_PUSH_WEBHOOK_SECRET: required (≥ 16 characters) with GATEWAY_LITE_PUSH_WEBHOOK_URL',
    ]);
  return {
    webhook:
      e.GATEWAY_LITE_PUSH_WEBHOOK_URL && e.GATEWAY_LITE_PUSH_WEBHOOK_SECRET
        ? {
            url: e.GATEWAY_LITE_PUSH_WEBHOOK_URL,
            secret: e.GATEWAY_LITE_PUSH_WEBHOOK_SECRET,
            timeoutMs: e.GATEWAY_LITE_PUSH_TIMEOUT_MS,
          }
        : undefined,
    capacity: e.GATEWAY_LITE_PUSH_BUFFER,
    concurrency: e.GATEWAY_LITE_PUSH_PUSHERS,
    batchSize: e.GATEWAY_LITE_PUSH_BATCH,
  };
}
