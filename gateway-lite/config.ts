import path from 'node:path';
import { z } from 'zod';
import { parseEnv, port, type Env } from '../common/config.ts';
import { IntentGrants } from './gateway/intents.ts';
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
  /** The ws:// or wss:// URL GET /gateway(/bot) answers, without a query; default ws://HOST:PORT/gateway. */
  GATEWAY_LITE_GATEWAY_URL: z.string().url().optional(),
  /** READY's resume_gateway_url (e.g. a load balancer in front of several nodes); default the gateway URL. */
  GATEWAY_LITE_RESUME_URL: z.string().url().optional(),
  /** `shards` in GET /gateway/bot (the recommended shard count). */
  GATEWAY_LITE_SHARDS: int(1, 1),
  /** Largest num_shards Identify may use (beyond → 4010). */
  GATEWAY_LITE_MAX_SHARDS: int(1024, 1),
  /** session_start_limit.max_concurrency: identify buckets (shard_id % this), one Identify per bucket per window. */
  GATEWAY_LITE_MAX_CONCURRENCY: int(1, 1),
  GATEWAY_LITE_IDENTIFY_WINDOW_MS: int(5000, 1),
  /** session_start_limit.total/remaining as reported (not enforced). */
  GATEWAY_LITE_SESSION_START_LIMIT: int(1000, 1),
  /** Hello's heartbeat_interval; no heartbeat for 1.5 intervals + 1 s closes the socket with 4009. */
  GATEWAY_LITE_HEARTBEAT_MS: int(41_250, 100),
  /** How long a session stays resumable after its socket dropped. */
  GATEWAY_LITE_RESUME_TTL_MS: int(180_000, 1000),
  /** Dispatches kept per session for Resume; a Resume older than that gets op 9 false. */
  GATEWAY_LITE_REPLAY_MAX: int(1000, 1),
  /** Client commands per connection: N/MS (Discord: 120 per 60 s); beyond → 4008. */
  GATEWAY_LITE_WS_COMMANDS: bucket('120/60000'),
  /** Queued outbound bytes past which typing/presence dispatches are shed. */
  GATEWAY_LITE_WS_SHED_BYTES: int(256 * 1024, 1024),
  /** Queued outbound bytes past which the socket is closed (4000, resumable). */
  GATEWAY_LITE_WS_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024, 1024),
  /** Privileged intents granted: `NAME` (every bot) or `BOT_ID:NAME` entries, comma-separated; others → 4014. */
  GATEWAY_LITE_PRIVILEGED_INTENTS: z
    .string()
    .default('GUILD_MEMBERS,GUILD_PRESENCES,MESSAGE_CONTENT')
    .refine(
      (v) => {
        try {
          new IntentGrants(v);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'entries must be GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT, optionally prefixed BOT_ID:' },
    ),
  /** zstd-stream compression level and window (log2 bytes; default: zstd's for the level). */
  GATEWAY_LITE_ZSTD_LEVEL: z.coerce.number().int().min(1).max(19).default(3),
  GATEWAY_LITE_ZSTD_WINDOW_LOG: z.coerce.number().int().min(10).max(27).optional(),
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
  GATEWAY_LITE_RL_INVALID_MAX: int(10_000, 1),
  GATEWAY_LITE_RL_INVALID_WINDOW_MS: int(600_000, 1000),
};

export type GatewayLiteEnv = z.infer<z.ZodObject<typeof gatewayLiteShape>>;

export interface GatewayLiteConfig {
  port: number;
  internalPort: number;
  bind: string;
  gatewayUrl?: string;
  gateway: GatewayConfig;
  storage: StorageConfig;
  redisPrefix: string;
  nodeId: string;
  placement: 'local' | 'redis';
  nodeTtlMs: number;
  maxJsonBytes: number;
  maxUploadBytes: number;
  mediaProxy?: { url: string; token?: string };
  rateLimits: {
    globalPerSecond: number;
    invalidMax: number;
    invalidWindowMs: number;
    defaultBucket: BucketLimit;
    routes: Record<string, BucketLimit>;
  };
}

/** The v10 gateway's settings (README "Gateway (v10)"). */
export interface GatewayConfig {
  resumeUrl?: string;
  shards: number;
  maxShards: number;
  maxConcurrency: number;
  identifyWindowMs: number;
  sessionStartLimit: number;
  heartbeatMs: number;
  resumeTtlMs: number;
  replayMax: number;
  commands: BucketLimit;
  shedBytes: number;
  maxBufferedBytes: number;
  privilegedIntents: string;
  zstdLevel: number;
  zstdWindowLog?: number;
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
    gatewayUrl: e.GATEWAY_LITE_GATEWAY_URL?.replace(/\/$/, ''),
    gateway: {
      resumeUrl: e.GATEWAY_LITE_RESUME_URL?.replace(/\/$/, ''),
      shards: e.GATEWAY_LITE_SHARDS,
      maxShards: Math.max(e.GATEWAY_LITE_MAX_SHARDS, e.GATEWAY_LITE_SHARDS),
      maxConcurrency: e.GATEWAY_LITE_MAX_CONCURRENCY,
      identifyWindowMs: e.GATEWAY_LITE_IDENTIFY_WINDOW_MS,
      sessionStartLimit: e.GATEWAY_LITE_SESSION_START_LIMIT,
      heartbeatMs: e.GATEWAY_LITE_HEARTBEAT_MS,
      resumeTtlMs: e.GATEWAY_LITE_RESUME_TTL_MS,
      replayMax: e.GATEWAY_LITE_REPLAY_MAX,
      commands: e.GATEWAY_LITE_WS_COMMANDS,
      shedBytes: e.GATEWAY_LITE_WS_SHED_BYTES,
      maxBufferedBytes: Math.max(e.GATEWAY_LITE_WS_MAX_BUFFERED_BYTES, e.GATEWAY_LITE_WS_SHED_BYTES),
      privilegedIntents: e.GATEWAY_LITE_PRIVILEGED_INTENTS,
      zstdLevel: e.GATEWAY_LITE_ZSTD_LEVEL,
      zstdWindowLog: e.GATEWAY_LITE_ZSTD_WINDOW_LOG,
    },
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
      },
    },
  };
}
