/** op 4 is handed to `commands.voiceStateUpdate` with the session's user and id; a GatewayCloseError closes with its code. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayCloseError } from '../../gateway-lite/index.ts';
import type { TestNode } from './rest-helpers.ts';
import { RawClient, startGatewayTestNode, until } from './gateway-helpers.ts';

describe('op 4 delegation', () => {
  let t: TestNode;
  const calls: Array<{ userId: string; sessionId: string; channel: string | null }> = [];
  beforeAll(async () => {
    t = await startGatewayTestNode(
      {},
      {
        commands: {
          voiceStateUpdate: async (session, d) => {
            calls.push({ ...session, channel: d.channel_id });
            if (d.channel_id === null) throw new GatewayCloseError(4008, 'voice refused for this test');
          },
        },
      },
    );
  });
  afterAll(() => t?.close());

  it('passes op 4 to the voice bridge and closes with the code it throws', async () => {
    const c = new RawClient(t.node.gatewayUrl);
    const ready = await c.identify(t.seed.token);
    const sessionId = (ready.d as { session_id: string }).session_id;
    c.send(4, { guild_id: t.seed.guildId, channel_id: t.seed.voiceChannelId, self_mute: false, self_deaf: false });
    await until(() => calls.length === 1, 'voice handler call');
    expect(calls[0]).toEqual({ userId: t.seed.botId, sessionId, channel: t.seed.voiceChannelId });
    // A guild the session is not in never reaches the bridge.
    c.send(4, { guild_id: '1234567890123456789', channel_id: null, self_mute: false, self_deaf: false });
    c.send(4, { guild_id: t.seed.guildId, channel_id: null, self_mute: false, self_deaf: false });
    expect(await c.closed).toBe(4008);
    expect(calls.map((x) => x.channel)).toEqual([t.seed.voiceChannelId, null]);
  });
});
