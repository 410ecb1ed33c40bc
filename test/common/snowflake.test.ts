import { describe, expect, it } from 'vitest';
import { DISCORD_EPOCH, SnowflakeGenerator, isSnowflake, parseSnowflake } from '../../common/snowflake.ts';

describe('snowflake', () => {
  it('lays out timestamp, worker, process and increment like Discord', () => {
    const t = 1_700_000_000_123;
    const gen = new SnowflakeGenerator(7, 19, () => t);
    const a = gen.nextBigInt();
    const b = gen.nextBigInt();
    expect(a >> 22n).toBe(BigInt(t) - DISCORD_EPOCH);
    expect(parseSnowflake(a)).toEqual({ timestamp: t, workerId: 7, processId: 19, increment: 0 });
    expect(parseSnowflake(b).increment).toBe(1);
  });

  it('decodes a documented Discord id', () => {
    // Discord's docs example: 175928847299117063 → 2016-04-30T11:18:25.796Z, worker 1, process 0, increment 7.
    expect(parseSnowflake('175928847299117063')).toEqual({
      timestamp: 1462015105796,
      workerId: 1,
      processId: 0,
      increment: 7,
    });
  });

  it('never repeats within a millisecond, even past 4096 ids', () => {
    const gen = new SnowflakeGenerator(0, 0, () => 1_600_000_000_000);
    const seen = new Set<bigint>();
    let last = 0n;
    for (let i = 0; i < 10_000; i++) {
      const id = gen.nextBigInt();
      expect(id > last).toBe(true);
      last = id;
      seen.add(id);
    }
    expect(seen.size).toBe(10_000);
  });

  it('stays monotonic when the clock steps back', () => {
    let now = 1_600_000_000_000;
    const gen = new SnowflakeGenerator(0, 0, () => now);
    const a = gen.nextBigInt();
    now -= 5000;
    expect(gen.nextBigInt() > a).toBe(true);
  });

  it('validates ids at the edge', () => {
    expect(isSnowflake('175928847299117063')).toBe(true);
    expect(isSnowflake('18446744073709551616')).toBe(false);
    expect(isSnowflake('12a')).toBe(false);
    expect(isSnowflake(12)).toBe(false);
    expect(() => new SnowflakeGenerator(32, 0)).toThrow(RangeError);
  });
});
