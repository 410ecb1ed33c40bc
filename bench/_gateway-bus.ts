/**
 * The bus channel layout, measured: the product's RedisDispatchBus (one channel per bus shard, 16) against the same
 * wire format on one channel per guild (each node subscribed to every guild's channel). Two receiving nodes, one of
 * them publishing; events spread over GUILDS guilds; throughput = events until both nodes received them all.
 */
import { randomBytes } from 'node:crypto';
import { rootLogger } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { createRedis } from '../common/redis.ts';
import { SnowflakeGenerator } from '../common/snowflake.ts';
import { RedisDispatchBus, decodeWire, encodeWire, type GatewayDispatch } from '../gateway-lite/index.ts';
import { ratio, round } from './_harness.ts';
import { loadStream } from './_gateway-bytes.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const GUILDS = Number(process.env.BENCH_BUS_GUILDS ?? 2000);
const EVENTS = Number(process.env.BENCH_BUS_EVENTS ?? 20_000);
const SHARDS = 16;

function events(): GatewayDispatch[] {
  const ids = new SnowflakeGenerator(1, 1);
  const guilds = Array.from({ length: GUILDS }, () => ids.next());
  const msgs = loadStream().filter((e) => e.t === 'MESSAGE_CREATE');
  return Array.from({ length: EVENTS }, (_, i) => ({
    t: 'MESSAGE_CREATE',
    d: msgs[i % msgs.length].d,
    guildId: guilds[i % GUILDS],
    intent: 1 << 9,
  }));
}

async function perShard(evs: GatewayDispatch[]) {
  const prefix = `resound:bench:bus:${randomBytes(4).toString('hex')}:`;
  const mk = (nodeId: string) =>
    RedisDispatchBus.connect({
      redisUrl: REDIS_URL,
      prefix,
      nodeId,
      busShards: SHARDS,
      registry: new Registry(),
      logger: rootLogger(),
    });
  const t0 = performance.now();
  const [a, b] = await Promise.all([mk('a'), mk('b')]);
  const subscribeMs = performance.now() - t0;
  let got = 0;
  const done = new Promise<void>((resolve) => {
    const on = () => {
      if (++got === evs.length * 2) resolve();
    };
    a.subscribe(on);
    b.subscribe(on);
  });
  const t1 = performance.now();
  for (const e of evs) void a.publish(e);
  await done;
  const s = (performance.now() - t1) / 1000;
  await a.close();
  await b.close();
  return { events_per_s: round(evs.length / s, 0), subscribe_ms: round(subscribeMs, 1), channels: SHARDS };
}

async function perGuild(evs: GatewayDispatch[]) {
  const prefix = `resound:bench:bus:${randomBytes(4).toString('hex')}:`;
  const pub = createRedis(REDIS_URL);
  const subs = [createRedis(REDIS_URL), createRedis(REDIS_URL)];
  const guilds = [...new Set(evs.map((e) => e.guildId!))];
  const t0 = performance.now();
  // One SUBSCRIBE per guild, as a node would issue them while sessions come and go.
  await Promise.all(subs.map((s) => Promise.all(guilds.map((g) => s.subscribe(`${prefix}g:${g}`)))));
  const subscribeMs = performance.now() - t0;
  let got = 0;
  const done = new Promise<void>((resolve) => {
    for (const s of subs)
      s.on('message', (_c: string, m: string) => {
        if (decodeWire(m).ok && ++got === evs.length * 2) resolve();
      });
  });
  const t1 = performance.now();
  let i = 0;
  for (const e of evs)
    void pub.publish(`${prefix}g:${e.guildId}`, encodeWire(`bench.1:${++i}`, { ...e, id: String(i) }));
  await done;
  const s = (performance.now() - t1) / 1000;
  pub.disconnect();
  for (const x of subs) x.disconnect();
  return { events_per_s: round(evs.length / s, 0), subscribe_ms: round(subscribeMs, 1), channels: guilds.length };
}

export async function measureBus(): Promise<Record<string, unknown>[]> {
  const evs = events();
  const guild = await perGuild(evs);
  const shard = await perShard(evs);
  return [
    {
      layout: `one channel per bus shard (${SHARDS}), RedisDispatchBus`,
      guilds: GUILDS,
      events: EVENTS,
      receiving_nodes: 2,
      ...shard,
      baseline: `one channel per guild (${guild.channels} subscriptions per node)`,
      baseline_events_per_s: guild.events_per_s,
      baseline_subscribe_ms: guild.subscribe_ms,
      ratio: ratio(shard.events_per_s, guild.events_per_s),
    },
  ];
}
