import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rootLogger } from '../../../common/logger.ts';
import { createRedis } from '../../../common/redis.ts';
import { startFanout } from '../../../gateway-lite/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('startFanout: GATEWAY_LITE_BUS chooses one node or Redis', () => {
  it('local (the default) needs nothing; redis gives a bus and a session store; bad values are named', async () => {
    const base = { redisUrl: REDIS_URL, nodeId: 'n1', logger: rootLogger() };
    const prefix = `resound:test:gw-fanout-cfg:${randomBytes(4).toString('hex')}:`;
    expect(await startFanout({ ...base, env: {}, prefix })).toBeNull();
    await expect(startFanout({ ...base, env: { GATEWAY_LITE_BUS: 'kafka' }, prefix })).rejects.toThrow(
      /GATEWAY_LITE_BUS/,
    );
    await expect(
      startFanout({ ...base, env: { GATEWAY_LITE_BUS: 'redis', GATEWAY_LITE_BUS_SHARDS: '0' }, prefix }),
    ).rejects.toThrow(/GATEWAY_LITE_BUS_SHARDS/);
    const f = await startFanout({ ...base, env: { GATEWAY_LITE_BUS: 'redis', GATEWAY_LITE_BUS_SHARDS: '8' }, prefix });
    expect(f).not.toBeNull();
    const got = new Promise((r) => f!.bus.subscribe(r));
    await f!.bus.publish({ t: 'TYPING_START', d: { n: 1 }, guildId: null, intent: 0 });
    expect(await got).toMatchObject({ t: 'TYPING_START', d: { n: 1 } });
    await f!.sessionStore.save({
      sessionId: 's',
      userId: 'u',
      tokenHash: 'h',
      intents: 0,
      shard: [0, 1],
      largeThreshold: 50,
      seq: 0,
      guildIds: [],
      presence: null,
      replay: [],
      expiresAt: Date.now() + 10_000,
      nodeId: 'n1',
    });
    expect((await f!.sessionStore.take('s'))?.nodeId).toBe('n1');
    expect(await f!.drain()).toEqual({ moved: 0, attached: 0 }); // not attached to a node yet: nothing to move
    await f!.close();
    const r = createRedis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  });
});
