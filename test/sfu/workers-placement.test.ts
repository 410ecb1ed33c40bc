/** Placement over real SFU worker processes: the least loaded worker gets the next channel. */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfuWorkerPool } from '../../sfu/index.ts';

describe('SfuWorkerPool placement', () => {
  let pool: SfuWorkerPool;
  beforeAll(async () => {
    pool = await SfuWorkerPool.create({
      workers: 2,
      init: { bindAddress: '127.0.0.1', port: 0, publicIp: '127.0.0.1', logLevel: 'warn' },
      publicIp: '127.0.0.1',
      logger: pino({ level: 'warn' }),
      registry: new Registry(),
    });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('spreads channels, weighs participants, and frees what a closed channel held', () => {
    const a = pool.createChannel('a');
    const b = pool.createChannel('b');
    expect(a.workerId).not.toBe(b.workerId);
    // Three participants on a's worker: the next two channels go to the other one until the scores meet.
    for (let i = 0; i < 3; i++) a.addParticipant(`u${i}`, a.createTransport());
    const c = pool.createChannel('c');
    expect(c.workerId).toBe(b.workerId);
    const d = pool.createChannel('d');
    expect(d.workerId).toBe(b.workerId);
    const hot = pool.members.find((w) => w.id === a.workerId)!;
    expect(hot.participants).toBe(3);
    expect(hot.channels).toBe(1);
    a.close();
    expect(hot.participants).toBe(0);
    expect(hot.channels).toBe(0);
    expect(pool.createChannel('e').workerId).toBe(hot.id);
    for (const ch of [b, c, d]) ch.close();
  });

  it('SSRCs a worker hands out are unique, and its transports close', () => {
    const ch = pool.createChannel('ssrc');
    const ts = Array.from({ length: 50 }, () => ch.createTransport());
    expect(new Set(ts.map((t) => t.ssrc)).size).toBe(50);
    for (const t of ts) t.close();
    expect(ts.every((t) => t.closed)).toBe(true);
    ch.close();
  });
});
