import { z } from 'zod';
import path from 'node:path';
import { httpLimitsShape } from './http-limits.ts';

/**
 * Shared environment parsing. Each part declares its own zod schema beside its code (signaling/config.ts, …) and
 * parses it with `parseEnv`, so a bad variable is reported by name at start-up, before any listener opens.
 */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Variables whose values are never echoed back, even when rejected (a near-miss secret is still a secret). */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASS|_KEY)$/;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]+@/gi;

/** How a rejected value is shown in the start-up error: secrets by length only, URLs without their password. */
export function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return '""';
  if (SECRET_NAME.test(name)) return `(${value.length} characters, hidden)`;
  return JSON.stringify(value.replace(URL_PASSWORD, '$1:***@'));
}

/** Parse `env` with a schema whose keys are the variable names; the error lists each bad variable and the fix. */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: Env = process.env): z.infer<z.ZodObject<S>> {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const v = env[key];
    picked[key] = v === '' ? undefined : v;
  }
  const result = z.object(shape).safeParse(picked);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        return `${name}=${shownValue(name, picked[name])}: ${i.message}`;
      }),
    );
  }
  return result.data;
}

/** A TCP/UDP port; 0 asks the OS for an ephemeral one (tests and side-by-side instances). */
export const port = (dflt: number) => z.coerce.number().int().min(0).max(65535).default(dflt);
export const bool = (dflt: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'])
    .default(dflt ? 'true' : 'false')
    .transform((v) => v === '1' || v === 'true' || v === 'yes');
export const ipv4 = z.string().regex(/^(\d{1,3})(\.\d{1,3}){3}$/, 'must be an IPv4 literal such as 127.0.0.1');

/** True when `host` only accepts connections from this machine (127/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const commonShape = {
  RESOUND_DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unset: redis://127.0.0.1:6379, or a private redis-server child when nothing answers there (common/redis.ts). */
  REDIS_URL: z.string().url().optional(),
  /** Interface every listener binds to. */
  RESOUND_BIND: z.string().default('127.0.0.1'),
  /** Interface of the internal listeners (admin APIs, /metrics, workers dashboard); keep it off the public network. */
  RESOUND_INTERNAL_BIND: z.string().default('127.0.0.1'),
  /** Snowflake worker and process ids (5 bits each) so several processes never mint the same id. */
  RESOUND_WORKER_ID: z.coerce.number().int().min(0).max(31).default(0),
  RESOUND_PROCESS_ID: z.coerce
    .number()
    .int()
    .min(0)
    .max(31)
    .default(process.pid & 31),
  /** Timeouts and connection caps of every HTTP listener (see common/connection-guard.ts). */
  ...httpLimitsShape,
};

export type CommonConfig = z.infer<z.ZodObject<typeof commonShape>>;

export function loadCommonConfig(env: Env = process.env): CommonConfig {
  const c = parseEnv(commonShape, env);
  return { ...c, RESOUND_DATA_DIR: path.resolve(c.RESOUND_DATA_DIR) };
}
