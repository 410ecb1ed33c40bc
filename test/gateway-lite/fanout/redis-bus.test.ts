import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rootLogger } from '../../../common/logger.ts';
import { Registry } from '../../../common/metrics.ts';
import { createRedis } from '../../../common/redis.ts';
import { snowflake } from '../../../common/snowflake.ts';
import { busShardOf, RedisDispatchBus, dispatchDataJson, type GatewayDispatch } from '../../../gateway-lite/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:gw-bus:${randomBytes(4).toString('hex')}:`;
const buses: RedisDispatchBus[] = [];

async function bus(nodeId: string, registry = new Registry()) {
  const b = await RedisDispatchBus.connect({
    redisUrl: REDIS_URL,
    prefix,
    nodeId,
    busShards: 4,
    registry,
    logger: rootLogger().child({ test: 'bus' }),
  });
  buses.push(b);
  return { b, registry };
}

async function value(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

function collect(b: RedisDispatchBus, until: number) {
  const got: GatewayDispatch[] = [];
  const done = new Promise<GatewayDispatch[]>((resolve) => {
    b.subscribe((e) => {
      got.push(e);
      if (got.length === until) resolve(got);
    });
  });
  return { got, done };
}

const msg = (guildId: string, n: number): GatewayDispatch => ({
  t: 'MESSAGE_CREATE',
  d: { id: String(n), guild_id: guildId, content: `m${n}`, mentions: [] },
  guildId,
  intent: 1 << 9,
});

afterAll(async () => {
  for (const b of buses) await b.close();
  const r = createRedis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

describe('RedisDispatchBus: gateway nodes on one Redis', () => {
  it('delivers every event published on one node to every node, in publish order per guild', async () => {
    const a = await bus('node-a');
    const b = await bus('node-b');
    const guilds = [snowflake(), snowflake(), snowflake()];
    const onA = collect(a.b, 90);
    const onB = collect(b.b, 90);
    // Both nodes publish, interleaved across guilds (and so across bus shards).
    for (let i = 0; i < 45; i++) {
      void a.b.publish(msg(guilds[i % 3], i));
      void b.b.publish({ ...msg(guilds[i % 3], 1000 + i), userIds: ['1'], sheddable: true });
    }
    const [gotA, gotB] = await Promise.all([onA.done, onB.done]);
    for (const got of [gotA, gotB]) {
      for (const g of guilds) {
        const ids = got.filter((e) => e.guildId === g).map((e) => Number((e.d as { id: string }).id));
        expect(ids.filter((n) => n < 1000)).toEqual([...ids.filter((n) => n < 1000)].sort((x, y) => x - y));
        expect(ids.filter((n) => n >= 1000)).toEqual([...ids.filter((n) => n >= 1000)].sort((x, y) => x - y));
      }
    }
    // Fields survive the trip; d's text is the publisher's, reusable without re-stringifying.
    const fromB = gotA.find((e) => (e.d as { id: string }).id === '1000')!;
    expect(fromB).toMatchObject({
      t: 'MESSAGE_CREATE',
      guildId: guilds[0],
      intent: 512,
      userIds: ['1'],
      sheddable: true,
    });
    expect(dispatchDataJson(fromB)).toBe(JSON.stringify(msg(guilds[0], 1000).d));
    expect(await value(a.registry, 'resound_gateway_bus_received_total')).toBe(90);
    expect(await value(a.registry, 'resound_gateway_bus_published_total')).toBe(45);
    expect(await value(b.registry, 'resound_gateway_bus_gaps_total')).toBe(0);
  });

  it('routes a guild to channel (id >> 22) % shards and a guild-less event to shard 0', () => {
    const g = '1576539694240366592';
    expect(busShardOf(g, 4)).toBe(Number((BigInt(g) >> 22n) % 4n));
    expect(busShardOf(null, 4)).toBe(0);
  });

  it('drops a re-sent publish (same id) and counts malformed messages without disturbing delivery', async () => {
    const c = await bus('node-c');
    const raw = createRedis(REDIS_URL);
    const g = snowflake();
    const channel = c.b.channel(busShardOf(g, 4));
    const { got, done } = collect(c.b, 2);
    const wire = (n: number) =>
      `${JSON.stringify({ id: `e${n}`, q: `other.1:${n}`, t: 'TYPING_START', g, i: 2048 })}\n${JSON.stringify({ n })}`;
    await raw.publish(channel, wire(1));
    await raw.publish(channel, wire(1)); // the retry
    await raw.publish(channel, 'not a bus message');
    await raw.publish(channel, `{"id":"x"}\n{}`);
    await raw.publish(channel, wire(3)); // 2 never arrived: a gap
    await done;
    raw.disconnect();
    expect(got.map((e) => [e.id, e.d])).toEqual([
      ['e1', { n: 1 }],
      ['e3', { n: 3 }],
    ]);
    expect(await value(c.registry, 'resound_gateway_bus_duplicates_total')).toBe(1);
    expect(await value(c.registry, 'resound_gateway_bus_malformed_total')).toBe(2);
    expect(await value(c.registry, 'resound_gateway_bus_gaps_total')).toBe(1);
  });
});
