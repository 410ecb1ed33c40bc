import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyRequestLogger } from '../../common/request-logger.ts';
import { makeProxy } from '../media-proxy/helpers.ts';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('per-request loggers are made only when a request logs', () => {
  it('writes the same line as a pino child with the request id, and builds no child for a silent request', () => {
    const { lines, stream } = capture();
    const root = pino({ level: 'info', base: { part: 'proxy' } }, stream);
    const child = vi.spyOn(root, 'child');
    const quiet = lazyRequestLogger(root, { reqId: 'req-1' }, {});
    expect(quiet.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
    const loud = lazyRequestLogger(root, { reqId: 'req-2' }, {});
    loud.error({ code: 'x' }, 'request failed');
    loud.debug('below the level');
    root.child({ reqId: 'req-2' }).error({ code: 'x' }, 'request failed');
    expect(child).toHaveBeenCalledTimes(2);
    expect(lines).toHaveLength(2);
    const strip = ({ time: _t, ...rest }: Record<string, unknown>) => rest;
    expect(strip(lines[0])).toEqual(strip(lines[1]));
    expect(lines[0]).toMatchObject({ reqId: 'req-2', part: 'proxy', code: 'x', msg: 'request failed', level: 50 });
  });

  it('the media app answers (here a 404 it counts and logs itself) without making a per-request logger', async () => {
    const t = await makeProxy({ MEDIA_PROXY_REQUIRE_SIGNED_ATTACHMENTS: 'false' });
    try {
      const logger = t.app.log as unknown as { child: (...a: unknown[]) => unknown };
      const child = vi.spyOn(logger, 'child');
      const res = await t.app.inject({ method: 'GET', url: '/attachments/1/2/x.png' });
      expect(res.statusCode).toBe(404);
      expect(child).not.toHaveBeenCalled();
    } finally {
      await t.close();
    }
  });
});
