import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLogger } from '../../../common/logger.ts';
import { Registry } from '../../../common/metrics.ts';
import { createRedis } from '../../../common/redis.ts';
import { snowflake } from '../../../common/snowflake.ts';
import { startTestNode } from '../rest-helpers.ts';
import {
  BusPresence,
  PushService,
  RedisDispatchBus,
  RedisPresence,
  WebhookSink,
  loadPushConfig,
  mentionNotifications,
  signPush,
  verifyPush,
  LocalDispatchBus,
  type PushNotification,
  type PushServiceOptions,
} from '../../../gateway-lite/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:gw-push:${randomBytes(4).toString('hex')}:`;
const SECRET = 'push-secret-' + randomBytes(8).toString('hex');
const logger = rootLogger().child({ test: 'push' });
const redis = createRedis(REDIS_URL);

/** A real webhook receiver: verifies each call, records batches, can hold responses or answer 500. */
interface Call {
  ok: boolean;
  batch: PushNotification[];
}
const calls: Call[] = [];
let hold: Promise<void> | null = null;
let status = 200;
let receiverUrl = '';
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const ok = verifyPush(
      SECRET,
      {
        signature: req.headers['x-resound-signature'] as string,
        timestamp: req.headers['x-resound-timestamp'] as string,
      },
      body,
    );
    calls.push({ ok, batch: (JSON.parse(body) as { notifications: PushNotification[] }).notifications });
    void (hold ?? Promise.resolve()).then(() => res.writeHead(ok ? status : 401).end());
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/push`;
});
afterAll(async () => {
  receiver.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

async function value(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

/** A push service posting to the test receiver; every user offline unless `presence` says otherwise. */
function pushService({
  timeoutMs = 5000,
  ...o
}: Partial<PushServiceOptions> & { registry: Registry; timeoutMs?: number }): PushService {
  return new PushService({
    bus: new LocalDispatchBus(),
    presence: { offline: (u) => Promise.resolve(u) },
    sink: new WebhookSink({ url: receiverUrl, secret: SECRET, timeoutMs }),
    capacity: 10,
    concurrency: 1,
    batchSize: 100,
    logger,
    ...o,
  });
}

const note = (i: number): PushNotification => ({
  user_id: String(i),
  guild_id: null,
  channel_id: '1',
  message_id: String(i),
  author_id: '2',
  preview: 'hi',
  at: 0,
});

describe('push: mentions of offline users reach a signed webhook in batches, with shedding', () => {
  it('a message posted on node A pushes to a mentioned user who is offline everywhere, not to one live on node B', async () => {
    const registry = new Registry();
    const busA = await RedisDispatchBus.connect({
      redisUrl: REDIS_URL,
      prefix,
      nodeId: 'a',
      busShards: 2,
      registry,
      logger,
    });
    const busB = await RedisDispatchBus.connect({
      redisUrl: REDIS_URL,
      prefix,
      nodeId: 'b',
      busShards: 2,
      registry: new Registry(),
      logger,
    });
    const nodes = () => ['a', 'b'];
    const presenceA = new RedisPresence(redis, prefix, 'a', nodes, 60_000);
    const presenceB = new RedisPresence(redis, prefix, 'b', nodes, 60_000);
    const [author, online, offline, localOnline] = [snowflake(), snowflake(), snowflake(), snowflake()];
    await presenceB.add(online);
    await presenceA.add(localOnline);
    const mk = (bus: RedisDispatchBus, presence: RedisPresence) =>
      new PushService({
        bus,
        origin: bus.originId,
        presence,
        sink: new WebhookSink({ url: receiverUrl, secret: SECRET, timeoutMs: 5000 }),
        capacity: 100,
        concurrency: 2,
        batchSize: 100,
        registry: bus === busA ? registry : new Registry(),
        logger,
      });
    const pushA = mk(busA, presenceA);
    const pushB = mk(busB, presenceB); // receives the event too, but A published it: B must not push it again
    calls.length = 0;
    const guildId = snowflake();
    await busA.publish({
      t: 'MESSAGE_CREATE',
      guildId,
      intent: 1 << 9,
      d: {
        id: snowflake(),
        channel_id: snowflake(),
        guild_id: guildId,
        content: `hey <@${online}> <@${offline}> <@${localOnline}>`,
        author: { id: author },
        mentions: [{ id: online }, { id: offline }, { id: localOnline }, { id: author }],
      },
    });
    await until(async () => (await value(registry, 'resound_push_delivered_total')) === 1);
    await pushA.close();
    await pushB.close();
    expect(calls).toHaveLength(1);
    expect(calls[0].ok).toBe(true);
    expect(calls[0].batch.map((n) => [n.user_id, n.author_id, n.guild_id])).toEqual([[offline, author, guildId]]);
    expect(await value(registry, 'resound_push_buffered_total')).toBe(1);
    await presenceA.close();
    await presenceB.close();
    await busA.close();
    await busB.close();
  });

  it('pushers pull at most 100 a batch; a full buffer sheds; a slow sink slows pulling, not offering', async () => {
    const registry = new Registry();
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    calls.length = 0;
    const push = pushService({ registry, capacity: 150, timeoutMs: 10_000 });
    // 250 at once: the collector holds 150 and sheds 100 before the single pusher even pulls.
    const accepted = Array.from({ length: 250 }, (_, i) => push.collector.offer(note(i))).filter(Boolean).length;
    expect(accepted).toBe(150);
    await until(() => calls.length === 1);
    expect(push.collector.depth).toBe(50); // the first batch is in flight, held by the receiver
    release();
    hold = null;
    await push.close();
    expect(calls.map((c) => c.batch.length)).toEqual([100, 50]);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(calls.flatMap((c) => c.batch.map((n) => Number(n.user_id)))).toEqual([...Array(150).keys()]);
    expect(await value(registry, 'resound_push_buffered_total')).toBe(150);
    expect(await value(registry, 'resound_push_shed_total')).toBe(100);
    expect(await value(registry, 'resound_push_delivered_total')).toBe(150);
  });

  it('a sink that answers 500 counts the batch as failed; signatures reject tampering and stale timestamps', async () => {
    const registry = new Registry();
    status = 500;
    const push = pushService({ registry });
    push.collector.offer(note(1));
    push.collector.offer(note(2));
    await push.close();
    status = 200;
    expect(await value(registry, 'resound_push_failed_total')).toBe(2);
    expect(await value(registry, 'resound_push_delivered_total')).toBe(0);

    const now = 1_800_000_000;
    const sig = signPush(SECRET, String(now), '{"a":1}');
    expect(verifyPush(SECRET, { signature: sig, timestamp: String(now) }, '{"a":1}', 300, now)).toBe(true);
    expect(verifyPush(SECRET, { signature: sig, timestamp: String(now) }, '{"a":2}', 300, now)).toBe(false);
    expect(verifyPush('another-secret-xx', { signature: sig, timestamp: String(now) }, '{"a":1}', 300, now)).toBe(
      false,
    );
    expect(verifyPush(SECRET, { signature: sig, timestamp: String(now) }, '{"a":1}', 300, now + 301)).toBe(false);
    expect(verifyPush(SECRET, { timestamp: String(now) }, '{"a":1}')).toBe(false);
  });

  it("a message posted through a node's REST API pushes its offline mention, not its online author's", async () => {
    const t = await startTestNode({ GATEWAY_LITE_RL_MESSAGE_POST: '100/1000' });
    const registry = new Registry();
    calls.length = 0;
    const push = pushService({
      registry,
      bus: t.node.bus,
      presence: new BusPresence(t.node.bus, (u) => [...t.node.hub.sessionsOf(u)].length > 0),
    });
    const offline = snowflake();
    const res = await fetch(`${t.api}/v10/channels/${t.seed.textChannelId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${t.seed.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: `ping <@${offline}> <@${t.seed.botId}>` }),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    await until(async () => (await value(registry, 'resound_push_delivered_total')) === 1);
    await push.close();
    await t.close();
    expect(calls).toHaveLength(1);
    expect(calls[0].ok).toBe(true);
    expect(calls[0].batch).toMatchObject([{ user_id: offline, message_id: id, guild_id: t.seed.guildId }]);
  });

  it('mentions come from the mentions array and from <@id> markup in the text, never the author', () => {
    const d = {
      id: '1',
      channel_id: '2',
      guild_id: '3',
      author: { id: '80351110224678912' },
      content: 'hi <@80351110224678913> and <@!80351110224678914> and me <@80351110224678912>',
      mentions: [{ id: '80351110224678915' }],
    };
    const got = mentionNotifications({ t: 'MESSAGE_CREATE', d, guildId: '3', intent: 512 }, 5);
    expect(got.map((n) => n.user_id).sort()).toEqual(['80351110224678913', '80351110224678914', '80351110224678915']);
    expect(got[0]).toMatchObject({
      guild_id: '3',
      channel_id: '2',
      message_id: '1',
      author_id: '80351110224678912',
      at: 5,
    });
    expect(mentionNotifications({ t: 'TYPING_START', d, guildId: '3', intent: 0 })).toEqual([]);
    expect(mentionNotifications({ t: 'MESSAGE_CREATE', d: 'junk', guildId: null, intent: 0 })).toEqual([]);
  });

  it('config: a webhook URL without a secret is refused by name', () => {
    expect(() => loadPushConfig({ GATEWAY_LITE_PUSH_WEBHOOK_URL: 'http://127.0.0.1:1/x' })).toThrow(
      /GATEWAY_LITE_PUSH_WEBHOOK_SECRET/,
    );
    expect(loadPushConfig({}).batchSize).toBe(100);
  });
});
