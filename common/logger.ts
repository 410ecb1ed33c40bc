import { pino, type Logger } from 'pino';
import { commonShape, parseEnv } from './config.ts';

export type { Logger };

let root: Logger | undefined;

/** The process-wide structured logger; parts take a child with `part` bound. Default level: LOG_LEVEL (schema). */
export function rootLogger(level: string = parseEnv({ LOG_LEVEL: commonShape.LOG_LEVEL }).LOG_LEVEL): Logger {
  root ??= pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
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
