import path from 'node:path';
import { z } from 'zod';
import { parseEnv, port, type Env } from '../common/config.ts';
import type { BucketLimit } from './rest/rate-limit.ts';
import type { StorageConfig } from './storage/types.ts';

const int = (dflt: number, min = 0) => z.coerce.number().int().min(min).default(dflt);
/** `N/MS`: N requests per MS milliseconds. */
const bucket = (dflt: string) =>
  z
    .string()
    .regex(/^\d+\/\d+$/, 'must be REQUESTS/WINDOW_MS, e.g. 5/5000')
    .default(dflt)
    .transform((v): BucketLimit => {
      const [limit, windowMs] = v.split('/').map(Number);
      return { limit: Math.max(1, limit), windowMs: Math.max(1, windowMs) };
    });

/** Every variable gateway-lite reads; README.md ("Platform core") documents each one. */
export const gatewayLiteShape = {
  GATEWAY_LITE_PORT: port(8090),
  /** Internal listener (/metrics, /healthz) on RESOUND_INTERNAL_BIND. */
  GATEWAY_LITE_INTERNAL_PORT: port(8091),
  /** The ws:// or wss:// URL GET /gateway answers (the gateway socket lands next issue); default ws://BIND:PORT/gateway. */
  GATEWAY_LITE_GATEWAY_URL: z.string().url().optional(),
  GATEWAY_LITE_STORAGE: z.enum(['sqlite', 'postgres']).default('sqlite'),
  /** PostgreSQL for GATEWAY_LITE_STORAGE=postgres (the development machines' local server by default). */
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/test'),
  /** PostgreSQL schema (with GATEWAY_LITE_STORAGE=postgres; the URL is DATABASE_URL). */
  GATEWAY_LITE_PG_SCHEMA: z.string().default('resound'),
  /** SQLite fsync: full (every commit, survives power loss) or normal (survives a process crash). */
  GATEWAY_LITE_SQLITE_SYNC: z.enum(['full', 'normal']).default('full'),
  GATEWAY_LITE_REDIS_PREFIX: z.string().default('resound:gl:'),
  /** This node's id on the guild ring; default host:pid. */
  GATEWAY_LITE_NODE_ID: z.string().min(1).optional(),
  /** `local`: one node owns every guild; `redis`: nodes lease their place on the ring in Redis. */
  GATEWAY_LITE_PLACEMENT: z.enum(['local', 'redis']).default('local'),
  GATEWAY_LITE_NODE_TTL_MS: int(15_000, 100),
  /** Largest JSON body; larger → 413 / 40005. */
  GATEWAY_LITE_MAX_JSON_BYTES: int(256 * 1024, 1024),
  /** Largest multipart body (all files); Discord's default cap is 25 MiB. */
  GATEWAY_LITE_MAX_UPLOAD_BYTES: int(25 * 1024 * 1024, 1024),
  /** The media proxy attachments are uploaded to (its public HTTP upload API); unset = uploads refused. */
  GATEWAY_LITE_MEDIA_PROXY_URL: z.string().url().optional(),
  GATEWAY_LITE_MEDIA_PROXY_TOKEN: z.string().optional(),
  GATEWAY_LITE_RL_GLOBAL_PER_S: int(50, 1),
  GATEWAY_LITE_RL_DEFAULT: bucket('50/1000'),
  GATEWAY_LITE_RL_MESSAGE_POST: bucket('5/5000'),
  GATEWAY_LITE_RL_MESSAGE_EDIT: bucket('5/5000'),
  GATEWAY_LITE_RL_MESSAGE_DELETE: bucket('5/1000'),
  GATEWAY_LITE_RL_TYPING: bucket('5/5000'),
  GATEWAY_LITE_RL_WEBHOOK: bucket('5/2000'),
  GATEWAY_LITE_RL_INVALID_MAX: int(10_000, 1),
  GATEWAY_LITE_RL_INVALID_WINDOW_MS: int(600_000, 1000),
  /** Addresses/CIDRs interactions endpoint URLs may reach although in a blocked range (comma-separated). */
  GATEWAY_LITE_INTERACTIONS_ALLOW: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (l) => l.every((c) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(c)),
      'must be addresses or CIDRs, comma-separated',
    ),
  GATEWAY_LITE_INTERACTIONS_CONNECT_TIMEOUT_MS: int(2000, 10),
  GATEWAY_LITE_INTERACTIONS_RESPONSE_TIMEOUT_MS: int(3000, 10),
  /** Acknowledgement deadline after an invocation (Discord: 3 s). */
  GATEWAY_LITE_INTERACTIONS_ACK_MS: int(3000, 100),
  /** How long an interaction token works for follow-ups and edits (Discord: 15 min). */
  GATEWAY_LITE_INTERACTIONS_TOKEN_TTL_MS: int(900_000, 1000),
};

export type GatewayLiteEnv = z.infer<z.ZodObject<typeof gatewayLiteShape>>;

export interface GatewayLiteConfig {
  port: number;
  internalPort: number;
  bind: string;
  gatewayUrl?: string;
  storage: StorageConfig;
  redisPrefix: string;
  nodeId: string;
  placement: 'local' | 'redis';
  nodeTtlMs: number;
  maxJsonBytes: number;
  maxUploadBytes: number;
  mediaProxy?: { url: string; token?: string };
  interactions: {
    allow: string[];
    connectTimeoutMs: number;
    responseTimeoutMs: number;
    ackMs: number;
    tokenTtlMs: number;
  };
  rateLimits: {
    globalPerSecond: number;
    invalidMax: number;
    invalidWindowMs: number;
    defaultBucket: BucketLimit;
    routes: Record<string, BucketLimit>;
  };
}

export function loadGatewayLiteConfig(
  env: Env,
  common: { RESOUND_DATA_DIR: string; RESOUND_BIND: string },
): GatewayLiteConfig {
  const e = parseEnv(gatewayLiteShape, env);
  const storage: StorageConfig =
    e.GATEWAY_LITE_STORAGE === 'sqlite'
      ? {
          kind: 'sqlite',
          dataDir: path.join(common.RESOUND_DATA_DIR, 'gateway-lite'),
          synchronous: e.GATEWAY_LITE_SQLITE_SYNC,
        }
      : { kind: 'postgres', databaseUrl: e.DATABASE_URL, schema: e.GATEWAY_LITE_PG_SCHEMA };
  const msg = '/channels/:id/messages';
  return {
    port: e.GATEWAY_LITE_PORT,
    internalPort: e.GATEWAY_LITE_INTERNAL_PORT,
    bind: common.RESOUND_BIND,
    gatewayUrl: e.GATEWAY_LITE_GATEWAY_URL,
    storage,
    redisPrefix: e.GATEWAY_LITE_REDIS_PREFIX,
    nodeId: e.GATEWAY_LITE_NODE_ID ?? `node-${process.pid}`,
    placement: e.GATEWAY_LITE_PLACEMENT,
    nodeTtlMs: e.GATEWAY_LITE_NODE_TTL_MS,
    maxJsonBytes: e.GATEWAY_LITE_MAX_JSON_BYTES,
    maxUploadBytes: e.GATEWAY_LITE_MAX_UPLOAD_BYTES,
    mediaProxy: e.GATEWAY_LITE_MEDIA_PROXY_URL
      ? { url: e.GATEWAY_LITE_MEDIA_PROXY_URL.replace(/\/$/, ''), token: e.GATEWAY_LITE_MEDIA_PROXY_TOKEN }
      : undefined,
    interactions: {
      allow: e.GATEWAY_LITE_INTERACTIONS_ALLOW,
      connectTimeoutMs: e.GATEWAY_LITE_INTERACTIONS_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: e.GATEWAY_LITE_INTERACTIONS_RESPONSE_TIMEOUT_MS,
      ackMs: e.GATEWAY_LITE_INTERACTIONS_ACK_MS,
      tokenTtlMs: Math.max(e.GATEWAY_LITE_INTERACTIONS_TOKEN_TTL_MS, e.GATEWAY_LITE_INTERACTIONS_ACK_MS),
    },
    rateLimits: {
      globalPerSecond: e.GATEWAY_LITE_RL_GLOBAL_PER_S,
      invalidMax: e.GATEWAY_LITE_RL_INVALID_MAX,
      invalidWindowMs: e.GATEWAY_LITE_RL_INVALID_WINDOW_MS,
      defaultBucket: e.GATEWAY_LITE_RL_DEFAULT,
      routes: {
        [`POST ${msg}`]: e.GATEWAY_LITE_RL_MESSAGE_POST,
        [`PATCH ${msg}/:id`]: e.GATEWAY_LITE_RL_MESSAGE_EDIT,
        [`DELETE ${msg}/:id`]: e.GATEWAY_LITE_RL_MESSAGE_DELETE,
        'POST /channels/:id/typing': e.GATEWAY_LITE_RL_TYPING,
        'POST /webhooks/:id/:id': e.GATEWAY_LITE_RL_WEBHOOK,
      },
    },
  };
}
