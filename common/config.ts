import { z } from 'zod';
import path from 'node:path';

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
        return `${name}=${JSON.stringify(picked[name] ?? '')}: ${i.message}`;
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

export const commonShape = {
  RESOUND_DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** Interface every listener binds to. */
  RESOUND_BIND: z.string().default('127.0.0.1'),
  /** Snowflake worker and process ids (5 bits each) so several processes never mint the same id. */
  RESOUND_WORKER_ID: z.coerce.number().int().min(0).max(31).default(0),
  RESOUND_PROCESS_ID: z.coerce
    .number()
    .int()
    .min(0)
    .max(31)
    .default(process.pid & 31),
};

export type CommonConfig = z.infer<z.ZodObject<typeof commonShape>>;

export function loadCommonConfig(env: Env = process.env): CommonConfig {
  const c = parseEnv(commonShape, env);
  return { ...c, RESOUND_DATA_DIR: path.resolve(c.RESOUND_DATA_DIR) };
}
