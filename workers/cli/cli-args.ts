import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: the command prints its usage text after this message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with the CLI's manners: an unknown option, a missing value or a stray flag is a UsageError
 * (usage text, exit 2) instead of a raw ERR_PARSE_ARGS_* stack; `--help`/`-h` is always understood.
 */
export function parseCliArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs a subcommand, turning a UsageError into its message plus the usage text on stderr and exit status 2. */
export async function withUsage(usage: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}\n`);
    return 2;
  }
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * Errors that mean "Redis is not there right now" (the CLI's fail-fast reads): worth a "retrying" line and another
 * poll, unlike anything else, which is a real failure.
 */
export function isRedisOutage(err: unknown): boolean {
  return /Stream isn't writeable|ECONNREFUSED|ECONNRESET|Connection is closed|Command timed out|ETIMEDOUT|EPIPE/.test(
    (err as Error)?.message ?? '',
  );
}

/**
 * When workers last moved: the CLI feeds it a fingerprint of what it sees (done count, jobs in flight and their
 * progress); `idleS` is how long that has not changed, so a fleet that died shows as "no worker has taken a job".
 */
export class StallClock {
  private last = '';
  private since = Date.now();

  observe(fingerprint: string, now = Date.now()): void {
    if (fingerprint !== this.last) {
      this.last = fingerprint;
      this.since = now;
    }
  }

  idleS(now = Date.now()): number {
    return Math.floor((now - this.since) / 1000);
  }
}

/** Seconds without any visible progress before the progress line says so. */
export const STALL_AFTER_S = 10;

export function stallNote(clock: StallClock, inFlight: number): string {
  const idle = clock.idleS();
  return inFlight === 0 && idle >= STALL_AFTER_S ? `  no worker has taken a job for ${idle} s` : '';
}
