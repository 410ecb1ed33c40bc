import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { commonShape, parseEnv } from './config.ts';

export type { Logger };

let root: Logger | undefined;

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi;
const AUTH_VALUE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
/** Field names whose values are credentials wherever they appear in a log object. */
const SECRET_KEYS = ['authorization', 'token', 'password', 'secret', 'secret_key', 'adminToken', 'uploadToken'];

/** Hides credentials inside free text: URL passwords (`redis://:pw@host` → `redis://:***@host`) and auth headers. */
export function redactText(text: string): string {
  if (!text.includes('://') && !text.includes('Bearer') && !text.includes('Basic')) return text;
  return text.replace(URL_CREDENTIALS, '$1$2:***@').replace(AUTH_VALUE, '$1 ***');
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const err = value as Error & Record<string, unknown>;
    return {
      ...scrub({ ...err }, depth + 1)!,
      type: err.name,
      message: redactText(err.message),
      stack: redactText(err.stack ?? ''),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

/**
 * Options every Resound logger uses: JSON lines with ISO time, and credentials never written out — fields named like
 * secrets are censored, URL passwords and auth header values inside any string (including the message) are masked.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.headers.${k}`]), censor: '[redacted]' },
    formatters: { log: (obj) => scrub(obj, 0) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>);
      },
    },
  };
}

/** A logger with Resound's options writing to `destination` (stdout by default). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

/** The process-wide structured logger; parts take a child with `part` bound. Default level: LOG_LEVEL (schema). */
export function rootLogger(level: string = parseEnv({ LOG_LEVEL: commonShape.LOG_LEVEL }).LOG_LEVEL): Logger {
  root ??= createLogger(level);
  return root;
}

export function partLogger(part: string, level?: string): Logger {
  return rootLogger(level).child({ part });
}

/**
 * Logs a recurring event (bad packets, floods) at most once per `intervalMs` per key, with the count suppressed in
 * between, so hostile input cannot flood the log.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    this.log.warn({ ...obj, suppressed: entry?.suppressed ?? 0 }, msg);
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > 10_000) this.last.clear();
  }
}
