/**
 * The real @discordjs/ws 2.0.4 WebSocketManager (with @discordjs/rest for GET /gateway/bot and message posts) against
 * the gateway with zlib-stream: identify, READY, GUILD_CREATE, MESSAGE_CREATE through REST, heartbeats, then a
 * server-side op 7 and a dropped socket, each followed by a resume that replays every missed dispatch exactly once.
 */
import { Routes, GatewayIntentBits, type GatewayDispatchPayload } from 'discord-api-types/v10';
import { CompressionMethod } from '@discordjs/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore, messageDispatch, type SessionRecord } from '../../gateway-lite/index.ts';
import type { GatewayConnection } from '../../gateway-lite/gateway/connection.ts';
import type { TestNode } from './rest-helpers.ts';
import { djsClient, gwMetric, startGatewayTestNode, until, type DjsClient } from './gateway-helpers.ts';

/** Calls `onSave` (synchronously) whenever a session detaches: the test publishes its "missed" messages right there. */
class ObservedStore extends MemorySessionStore {
  onSave?: (r: SessionRecord) => void;
  override async save(r: SessionRecord): Promise<void> {
    await super.save(r);
    this.onSave?.(r);
  }
}

const contents = (c: DjsClient) =>
  c.dispatches
    .filter((p): p is Extract<GatewayDispatchPayload, { t: 'MESSAGE_CREATE' }> => p.t === 'MESSAGE_CREATE')
    .map((p) => p.d.content);

describe('gateway with @discordjs/ws (zlib-stream)', () => {
  let t: TestNode;
  let client: DjsClient;
  const store = new ObservedStore();

  beforeAll(async () => {
    t = await startGatewayTestNode({}, { sessionStore: store });
    client = djsClient(t, {
      compression: CompressionMethod.ZlibNative,
      intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
    });
    await client.manager.connect();
  });

  afterAll(async () => {
    await client?.destroy();
    await t?.close();
  });

  it('identifies: READY then GUILD_CREATE with channels and members', async () => {
    await until(() => client.dispatches.some((p) => p.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const ready = client.dispatches.find((p) => p.t === 'READY')!;
    expect(ready.t).toBe('READY');
    if (ready.t !== 'READY') return;
    expect(ready.d.v).toBe(10);
    expect(ready.d.user.id).toBe(t.seed.botId);
    expect(ready.d.guilds).toEqual([{ id: t.seed.guildId, unavailable: true }]);
    expect(ready.d.resume_gateway_url).toBe(t.node.gatewayUrl);
    expect(ready.d.application.id).toBe(t.seed.botId);
    const gc = client.dispatches.find((p) => p.t === 'GUILD_CREATE')!;
    if (gc.t !== 'GUILD_CREATE') return;
    expect(gc.d.id).toBe(t.seed.guildId);
    expect(gc.d.channels.map((c) => c.id).sort()).toEqual([t.seed.textChannelId, t.seed.voiceChannelId].sort());
    expect(gc.d.members.some((m) => m.user.id === t.seed.botId)).toBe(true);
    expect(gc.d.member_count).toBe(2);
    expect(gc.d.roles.some((r) => r.id === t.seed.guildId)).toBe(true);
  });

  it('delivers MESSAGE_CREATE for a message posted through REST, and heartbeats are ACKed', async () => {
    await client.rest.post(Routes.channelMessages(t.seed.textChannelId), { body: { content: 'hello gateway' } });
    await until(() => contents(client).includes('hello gateway'), 'MESSAGE_CREATE');
    const m = client.dispatches.find((p) => p.t === 'MESSAGE_CREATE')!;
    if (m.t === 'MESSAGE_CREATE') {
      expect(m.d.guild_id).toBe(t.seed.guildId);
      expect(m.d.author.id).toBe(t.seed.botId);
    }
    await until(() => client.heartbeats >= 2, 'two heartbeat ACKs');
    expect(client.heartbeats).toBeGreaterThanOrEqual(2);
  });

  const resumeCase = async (name: string, kick: () => void) => {
    const before = await gwMetric(t, 'resound_gateway_lite_ws_resumes_total', { result: 'local' });
    const replayedBefore = await gwMetric(t, 'resound_gateway_lite_ws_replayed_total');
    const missed = [1, 2, 3].map((i) => `${name} missed ${i}`);
    store.onSave = () => {
      store.onSave = undefined;
      // The socket is gone and the client waits before resuming: these can only reach it through the replay.
      for (const content of missed)
        void t.node.bus.publish(
          messageDispatch(
            'MESSAGE_CREATE',
            {
              id: `${Date.now()}${missed.indexOf(content)}`,
              channel_id: t.seed.textChannelId,
              content,
              author: { id: '1' },
            },
            t.seed.guildId,
          ),
        );
    };
    kick();
    await until(() => client.resumed > 0 && missed.every((c) => contents(client).includes(c)), `${name} resume`);
    await client.rest.post(Routes.channelMessages(t.seed.textChannelId), { body: { content: `${name} after` } });
    await until(() => contents(client).includes(`${name} after`), 'message after resume');
    for (const c of [...missed, `${name} after`]) expect(contents(client).filter((x) => x === c)).toHaveLength(1);
    expect(await gwMetric(t, 'resound_gateway_lite_ws_resumes_total', { result: 'local' })).toBe(before + 1);
    expect(await gwMetric(t, 'resound_gateway_lite_ws_replayed_total')).toBeGreaterThanOrEqual(replayedBefore + 3);
    const seqs = client.dispatches.length;
    expect(seqs).toBeGreaterThan(0);
    client.resumed = 0;
  };

  it('op 7 from the server: the client resumes and gets every missed dispatch exactly once', async () => {
    await resumeCase('op7', () => expect(t.node.hub.reconnectAll()).toBe(1));
    expect(client.closes).toContain(4200);
  });

  it('a dropped socket: the client resumes and gets every missed dispatch exactly once', async () => {
    await resumeCase('drop', () => {
      const ready = client.dispatches.find((p) => p.t === 'READY');
      const s = ready?.t === 'READY' ? t.node.hub.session(ready.d.session_id) : undefined;
      if (s?.state.kind !== 'attached') throw new Error('session not attached');
      (s.state.sink as GatewayConnection).ws.terminate();
    });
    // No dispatch was numbered twice across both resumes.
    const created = client.dispatches.filter((p) => p.t === 'MESSAGE_CREATE').map((p) => p.d.id);
    expect(new Set(created).size).toBe(created.length);
  });
});
