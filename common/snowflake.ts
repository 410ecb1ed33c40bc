/**
 * Discord-layout snowflakes: 42-bit ms since 2015-01-01, 5-bit worker, 5-bit process, 12-bit increment.
 * Ids are decimal strings at every edge (JSON cannot hold 64-bit integers); bigint inside.
 */
import { commonShape, parseEnv } from './config.ts';

export const DISCORD_EPOCH = 1420070400000n;

export interface SnowflakeParts {
  timestamp: number;
  workerId: number;
  processId: number;
  increment: number;
}

export class SnowflakeGenerator {
  private lastMs = -1n;
  private increment = 0n;

  constructor(
    readonly workerId = 0,
    readonly processId = 0,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > 31) throw new RangeError('workerId must be 0..31');
    if (!Number.isInteger(processId) || processId < 0 || processId > 31)
      throw new RangeError('processId must be 0..31');
  }

  nextBigInt(): bigint {
    let ms = BigInt(this.now()) - DISCORD_EPOCH;
    if (ms < this.lastMs) ms = this.lastMs; // clock stepped back: stay monotonic rather than reissue ids
    if (ms === this.lastMs) {
      this.increment = (this.increment + 1n) & 0xfffn;
      // 4096 ids in one millisecond: borrow the next millisecond instead of wrapping onto an issued id.
      if (this.increment === 0n) ms = this.lastMs + 1n;
    } else {
      this.increment = 0n;
    }
    this.lastMs = ms;
    return (ms << 22n) | (BigInt(this.workerId) << 17n) | (BigInt(this.processId) << 12n) | this.increment;
  }

  next(): string {
    return this.nextBigInt().toString();
  }
}

export function parseSnowflake(id: string | bigint): SnowflakeParts {
  const v = typeof id === 'bigint' ? id : BigInt(id);
  return {
    timestamp: Number((v >> 22n) + DISCORD_EPOCH),
    workerId: Number((v >> 17n) & 0x1fn),
    processId: Number((v >> 12n) & 0x1fn),
    increment: Number(v & 0xfffn),
  };
}

/** True for a decimal string that fits an unsigned 64-bit snowflake. */
export function isSnowflake(s: unknown): s is string {
  // Below 2^64: a 20-digit string compares as its number does, so no BigInt is built (this runs on every media hit).
  return typeof s === 'string' && /^\d{1,20}$/.test(s) && (s.length < 20 || s <= '18446744073709551615');
}

let shared: SnowflakeGenerator | undefined;

/**
 * A new id from the process-wide generator, whose worker and process ids come from RESOUND_WORKER_ID and
 * RESOUND_PROCESS_ID through the common schema (read on first use: start-up has validated them by then).
 */
export function snowflake(): string {
  shared ??= (() => {
    const ids = parseEnv({
      RESOUND_WORKER_ID: commonShape.RESOUND_WORKER_ID,
      RESOUND_PROCESS_ID: commonShape.RESOUND_PROCESS_ID,
    });
    return new SnowflakeGenerator(ids.RESOUND_WORKER_ID, ids.RESOUND_PROCESS_ID);
  })();
  return shared.next();
}
