/**
 * Resume on raw `ws` clients: with zstd-stream after a client drop and after a server op 7 (every missed dispatch
 * replayed exactly once, decoded by fzstd with a fresh context per socket), and a slow consumer that is first shed of
 * typing events, then closed resumably, and resumes without losing or doubling a message — other sessions untouched.
 */
import { GatewayIntentBits as I } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageDispatch, typingDispatch } from '../../gateway-lite/index.ts';
import type { TestNode } from './rest-helpers.ts';
import { gwMetric, RawClient, startGatewayTestNode, until, type Frame } from './gateway-helpers.ts';

const INTENTS = I.Guilds | I.GuildMessages | I.MessageContent | I.GuildMessageTyping;
const contentOf = (f: Frame) => (f.d as { content?: string }).content;
const messages = (frames: Frame[]) => frames.filter((f) => f.t === 'MESSAGE_CREATE').map((f) => contentOf(f)!);
const maxSeq = (frames: Frame[]) => Math.max(0, ...frames.filter((f) => f.op === 0).map((f) => f.s!));

describe('resume on raw clients', () => {
  let t: TestNode;
  let id = 1000;
  beforeAll(async () => {
    t = await startGatewayTestNode({
      GATEWAY_LITE_HEARTBEAT_MS: '60000',
      GATEWAY_LITE_WS_SHED_BYTES: '16384',
      GATEWAY_LITE_WS_MAX_BUFFERED_BYTES: '262144',
      GATEWAY_LITE_REPLAY_MAX: '50000',
    });
  });
  afterAll(() => t?.close());

  const publish = (content: string) =>
    t.node.bus.publish(
      messageDispatch(
        'MESSAGE_CREATE',
        { id: String(id++), channel_id: t.seed.textChannelId, content, author: { id: t.seed.ownerId } },
        t.seed.guildId,
      ),
    );

  async function resumeOn(query: string, sessionId: string, seq: number): Promise<RawClient> {
    const c = new RawClient(t.node.gatewayUrl, query);
    await c.next((f) => f.op === 10, 'hello');
    c.send(6, { token: t.seed.token, session_id: sessionId, seq });
    await c.next((f) => f.t === 'RESUMED', 'RESUMED');
    return c;
  }

  it('zstd-stream: a dropped client and a server op 7 both resume with every missed dispatch exactly once', async () => {
    const q = 'v=10&encoding=json&compress=zstd-stream';
    const first = new RawClient(t.node.gatewayUrl, q);
    const ready = await first.identify(t.seed.token, { intents: INTENTS });
    const sessionId = (ready.d as { session_id: string }).session_id;
    await publish('z before');
    await first.next((f) => contentOf(f) === 'z before', 'z before');
    first.close(4999);
    await first.closed;
    await until(() => t.node.hub.session(sessionId)?.state.kind === 'detached', 'detached');
    for (const i of [1, 2, 3]) await publish(`z missed ${i}`);
    const second = await resumeOn(q, sessionId, maxSeq(first.frames));
    expect(messages(second.frames)).toEqual(['z missed 1', 'z missed 2', 'z missed 3']);
    // op 7: the server asks; the client closes, publishes land in the replay buffer, the client resumes.
    expect(t.node.hub.reconnectAll(60_000)).toBeGreaterThanOrEqual(1);
    await second.next((f) => f.op === 7, 'op 7');
    second.close(4200);
    await second.closed;
    await until(() => t.node.hub.session(sessionId)?.state.kind === 'detached', 'detached after op 7');
    for (const i of [4, 5]) await publish(`z missed ${i}`);
    const third = await resumeOn(q, sessionId, maxSeq(second.frames));
    expect(messages(third.frames)).toEqual(['z missed 4', 'z missed 5']);
    const all = [...messages(first.frames), ...messages(second.frames), ...messages(third.frames)];
    expect(all).toEqual(['z before', 'z missed 1', 'z missed 2', 'z missed 3', 'z missed 4', 'z missed 5']);
    third.close();
  });

  it('a slow consumer is shed of typing, then closed resumably; it resumes cleanly and others are untouched', async () => {
    const slow = new RawClient(t.node.gatewayUrl);
    const ready = await slow.identify(t.seed.token, { intents: INTENTS });
    const sessionId = (ready.d as { session_id: string }).session_id;
    const bystander = new RawClient(t.node.gatewayUrl);
    await bystander.identify(t.seed.token, { intents: INTENTS });
    const shedBefore = await gwMetric(t, 'resound_gateway_lite_ws_shed_total', { t: 'TYPING_START' });
    slow.ws.pause(); // stops reading: the server's socket buffer grows
    const sent: string[] = [];
    const bot = (await t.node.storage.getUser(t.seed.botId))!;
    const pad = 'x'.repeat(2000);
    for (let batch = 0; batch < 400 && t.node.hub.session(sessionId)?.state.kind === 'attached'; batch++) {
      for (let i = 0; i < 25; i++) {
        const content = `slow ${batch}.${i} ${pad}`;
        sent.push(content);
        await publish(content);
        await t.node.bus.publish(typingDispatch(t.seed.textChannelId, t.seed.guildId, bot));
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(t.node.hub.session(sessionId)?.state.kind).toBe('detached');
    expect(await gwMetric(t, 'resound_gateway_lite_ws_shed_total', { t: 'TYPING_START' })).toBeGreaterThan(shedBefore);
    expect(await gwMetric(t, 'resound_gateway_lite_ws_closes_total', { code: '4000', by: 'server' })).toBe(1);
    // The bystander read everything, in order.
    await until(() => messages(bystander.frames).length === sent.length, 'bystander caught up', 30_000);
    expect(messages(bystander.frames)).toEqual(sent);
    expect(bystander.closeCode).toBeNull();
    // The slow client drains what reached it, sees the socket end, and resumes from the last dispatch it read.
    slow.ws.resume();
    await slow.closed;
    const resumed = await resumeOn('v=10&encoding=json', sessionId, maxSeq(slow.frames));
    const seen = [...messages(slow.frames), ...messages(resumed.frames)];
    expect(seen).toEqual(sent);
    resumed.close();
    bystander.close();
  });
});
