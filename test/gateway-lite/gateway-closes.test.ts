/**
 * Bad input on the gateway, each answered with its documented close code, counted, while a bystander session on the
 * same node keeps receiving dispatches: 4001, 4002 (oversize, bad JSON, bad shape), 4003 (a command before identify,
 * and no identify by the deadline), 4004, 4005, 4007, op 9 for
 * an unknown session, 4008, 4009 (no heartbeat), 4010, 4012, 4013, 4014, and op 9 for identify over max_concurrency.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Intent } from '../../gateway-lite/index.ts';
import type { TestNode } from './rest-helpers.ts';
import { gwMetric, RawClient, startGatewayTestNode, until } from './gateway-helpers.ts';

describe('gateway close codes', () => {
  let t: TestNode;
  let bystander: RawClient;
  let n = 0;

  beforeAll(async () => {
    // Only GUILD_MEMBERS is granted: MESSAGE_CONTENT/GUILD_PRESENCES must be refused with 4014.
    t = await startGatewayTestNode({
      GATEWAY_LITE_PRIVILEGED_INTENTS: 'GUILD_MEMBERS',
      GATEWAY_LITE_HEARTBEAT_MS: '2000',
      GATEWAY_LITE_IDENTIFY_TIMEOUT_MS: '3000',
    });
    bystander = new RawClient(t.node.gatewayUrl);
    await bystander.identify(t.seed.token);
    // Keep the bystander alive while other sockets misbehave.
    const beat = setInterval(() => bystander.send(1, null), 1000);
    beat.unref();
  });

  afterAll(async () => {
    bystander?.close();
    await t?.close();
  });

  /** After each refusal the bystander still gets a fresh dispatch. */
  async function bystanderStillServed(): Promise<void> {
    const content = `still here ${n++}`;
    await t.node.bus.publish({
      t: 'MESSAGE_CREATE',
      d: { id: String(n), channel_id: t.seed.textChannelId, content, author: { id: t.seed.botId } },
      guildId: t.seed.guildId,
      intent: Intent.GUILD_MESSAGES,
    });
    await bystander.next((f) => (f.d as { content?: string } | null)?.content === content, 'bystander dispatch');
    expect(bystander.closeCode).toBeNull();
  }

  async function expectClose(code: number, act: (c: RawClient) => Promise<void> | void, query?: string) {
    const before = await gwMetric(t, 'resound_gateway_lite_ws_closes_total', { code: String(code), by: 'server' });
    const c = new RawClient(t.node.gatewayUrl, query);
    await c.opened;
    await act(c);
    expect(await c.closed).toBe(code);
    expect(await gwMetric(t, 'resound_gateway_lite_ws_closes_total', { code: String(code), by: 'server' })).toBe(
      before + 1,
    );
    await bystanderStillServed();
  }

  const hello = (c: RawClient) => c.next((f) => f.op === 10, 'hello');

  it('4001 unknown opcode', () => expectClose(4001, (c) => c.send(5, {})));

  it('4002 oversized payload', () =>
    expectClose(4002, (c) => c.sendRaw(JSON.stringify({ op: 1, d: 'x'.repeat(5000) }))));

  it('4002 bad JSON', () => expectClose(4002, (c) => c.sendRaw('{"op": 1,')));

  it('4002 identify with a malformed body', () => expectClose(4002, (c) => c.send(2, { token: 5, intents: 'all' })));

  it('4003 a command before identify', () =>
    expectClose(4003, (c) => c.send(3, { since: null, activities: [], status: 'online', afk: false })));

  it('4003 a socket that heartbeats but never identifies, past the identify deadline', () =>
    expectClose(4003, async (c) => {
      await hello(c);
      const beat = setInterval(() => c.send(1, null), 500);
      await c.closed.finally(() => clearInterval(beat));
    }));

  it('4004 unknown token', () => expectClose(4004, (c) => c.send(2, { token: 'not-a-real-token-at-all', intents: 1 })));

  it('4005 identify twice', () =>
    expectClose(4005, async (c) => {
      await c.identify(t.seed.token);
      c.send(2, { token: t.seed.token, intents: 1 });
    }));

  it('4007 resume with a sequence never sent; op 9 false for an unknown session', async () => {
    const first = new RawClient(t.node.gatewayUrl);
    const ready = await first.identify(t.seed.token);
    const sessionId = (ready.d as { session_id: string }).session_id;
    first.close(4999); // resumable close
    await first.closed;
    await until(() => t.node.hub.session(sessionId)?.state.kind === 'detached', 'detached');
    await expectClose(4007, async (c) => {
      await hello(c);
      c.send(6, { token: t.seed.token, session_id: sessionId, seq: 9999 });
    });
    const unknown = new RawClient(t.node.gatewayUrl);
    await hello(unknown);
    unknown.send(6, { token: t.seed.token, session_id: 'f'.repeat(32), seq: 1 });
    const op9 = await unknown.next((f) => f.op === 9, 'op 9');
    expect(op9.d).toBe(false);
    unknown.close();
  });

  it('4004 resume with a token that does not own the session', async () => {
    const first = new RawClient(t.node.gatewayUrl);
    const ready = await first.identify(t.seed.token);
    const sessionId = (ready.d as { session_id: string }).session_id;
    first.close(4999);
    await first.closed;
    await expectClose(4004, async (c) => {
      await hello(c);
      c.send(6, { token: 'someone-elses-token-xyz', session_id: sessionId, seq: 1 });
    });
  });

  it('4008 more than 120 commands in 60 s', () =>
    expectClose(4008, async (c) => {
      await hello(c);
      for (let i = 0; i < 125; i++) c.send(1, null);
    }));

  it('4009 no heartbeat within 1.5 intervals', () => expectClose(4009, (c) => void c.identify(t.seed.token)));

  it('4010 shard out of range', () =>
    expectClose(4010, (c) => c.send(2, { token: t.seed.token, intents: 1, shard: [2, 2] })));

  it('4012 unsupported API version', () => expectClose(4012, () => {}, 'v=9&encoding=json'));

  it('4013 invalid intent bits', () => expectClose(4013, (c) => c.send(2, { token: t.seed.token, intents: 1 << 30 })));

  it('4014 privileged intents not granted (MESSAGE_CONTENT), while GUILD_MEMBERS is', async () => {
    await expectClose(4014, (c) =>
      c.send(2, { token: t.seed.token, intents: GatewayIntentBits.Guilds | GatewayIntentBits.MessageContent }),
    );
    const ok = new RawClient(t.node.gatewayUrl);
    const ready = await ok.identify(t.seed.token, { intents: GatewayIntentBits.GuildMembers });
    expect(ready.t).toBe('READY');
    ok.close();
  });
});

describe('identify concurrency', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startGatewayTestNode({ GATEWAY_LITE_MAX_CONCURRENCY: '1', GATEWAY_LITE_IDENTIFY_WINDOW_MS: '60000' });
  });
  afterAll(() => t?.close());

  it('a second identify in the same max_concurrency bucket within the window gets op 9 d:false', async () => {
    const a = new RawClient(t.node.gatewayUrl);
    await a.identify(t.seed.token, { shard: [0, 2] });
    const b = new RawClient(t.node.gatewayUrl);
    await b.next((f) => f.op === 10, 'hello');
    b.send(2, { token: t.seed.token, intents: 1, shard: [1, 2], properties: {} });
    const op9 = await b.next((f) => f.op === 9, 'op 9');
    expect(op9.d).toBe(false);
    expect(await gwMetric(t, 'resound_gateway_lite_ws_identifies_total', { result: 'throttled' })).toBe(1);
    expect(a.closeCode).toBeNull();
    a.close();
    b.close();
  });
});
