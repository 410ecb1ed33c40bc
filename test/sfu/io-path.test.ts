/**
 * Which datagram I/O path the SFU runs on is chosen automatically, forceable with SFU_IO, named in the start-up log
 * and in /metrics (`resound_sfu_io{path}`), and the fallback says why it was taken.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Sfu } from '../../sfu/index.ts';
import { loadSignalingConfig } from '../../signaling/index.ts';
import { metric } from './io-harness.ts';

/** An SFU whose log lines are kept. */
async function logged(opts: { bindAddress?: string; io?: 'auto' | 'batched' | 'dgram' }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const sfu = await Sfu.create({
    bindAddress: opts.bindAddress ?? '127.0.0.1',
    port: 0,
    publicIp: '127.0.0.1',
    logger: pino({ level: 'info' }, sink),
    io: opts.io,
  });
  await new Promise((r) => setImmediate(r));
  return { sfu, line: lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('sfu datagram io')) };
}

describe('datagram I/O path selection', () => {
  it('follows SFU_IO from the environment (this suite runs once per path) and names the path in log and metrics', async () => {
    const want = process.env.SFU_IO === 'dgram' ? 'dgram' : 'batched';
    const { sfu, line } = await logged({});
    expect(sfu.ioPath).toBe(want);
    expect(line).toMatchObject({ io: want, port: sfu.port });
    expect(await metric(sfu, 'resound_sfu_io', { path: want })).toBe(1);
    expect(await metric(sfu, 'resound_sfu_udp_receive_queue_overflow_total')).toBe(0);
    await sfu.close();
  });

  it('auto falls back to node:dgram where batched I/O cannot open, and says why', async () => {
    // The addon binds IPv4 literals only; a host name is for node:dgram to resolve.
    const { sfu, line } = await logged({ bindAddress: 'localhost', io: 'auto' });
    expect(sfu.ioPath).toBe('dgram');
    expect(line).toMatchObject({ io: 'dgram', requested: 'auto', fallback: expect.stringContaining('not an IPv4') });
    expect(await metric(sfu, 'resound_sfu_io', { path: 'dgram' })).toBe(1);
    await sfu.close();
  });

  it('SFU_IO=batched refuses to start where batched I/O cannot open, instead of testing the other path', async () => {
    await expect(logged({ bindAddress: 'localhost', io: 'batched' })).rejects.toThrow(/SFU_IO=batched/);
  });

  it('a taken port is EADDRINUSE on the batched path too (start-up names the variable)', async () => {
    const { sfu } = await logged({ io: 'batched' });
    await expect(
      Sfu.create({
        bindAddress: '127.0.0.1',
        port: sfu.port,
        publicIp: '127.0.0.1',
        logger: pino({ level: 'silent' }),
        io: 'batched',
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await sfu.close();
  });

  it('an unknown SFU_IO value stops start-up', () => {
    expect(() => loadSignalingConfig({ SFU_IO: 'fast' })).toThrow(/SFU_IO="fast"/);
  });
});
