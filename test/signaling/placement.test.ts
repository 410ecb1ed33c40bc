import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { VoiceGateway } from '../../signaling/index.ts';
import fs from 'node:fs';
import { newId, startTestGateway, VoiceClient } from '../../testkit/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('fleet placement over a shared Redis', () => {
  const prefix = `test:voice:${randomUUID()}`;
  let one: VoiceGateway;
  let two: VoiceGateway;
  const redis = new Redis(REDIS_URL);
  const env = { VOICE_PLACEMENT: 'redis', VOICE_PLACEMENT_PREFIX: prefix };

  beforeAll(async () => {
    one = await startTestGateway(env, { redisUrl: REDIS_URL });
    two = await startTestGateway(env, { redisUrl: REDIS_URL });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const join = async (via: VoiceGateway, guild: string, channel: string, user = newId()) => {
    const res = await fetch(`${via.internalUrl}/voice/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${via.adminToken}` },
      body: JSON.stringify({ guild_id: guild, channel_id: channel, user_id: user }),
    });
    return { user, ...((await res.json()) as { endpoint: string; token: string; session_id: string }) };
  };

  it('sends a new channel to the least-loaded server, keeps a channel on its host, host admits the token', async () => {
    const live = await one.placement!.liveServers();
    expect(live.map((s) => s.endpoint).sort()).toEqual([one.endpoint, two.endpoint].sort());

    const guild = newId();
    const channelA = newId();
    const first = await join(one, guild, channelA);
    const host = first.endpoint === one.endpoint ? one : two;
    const other = host === one ? two : one;
    // A user actually connects to the server named in the grant, with a token minted by whichever server answered.
    const client = await new VoiceClient({
      url: `wss://${first.endpoint}/?v=8`,
      serverId: guild,
      userId: first.user,
      sessionId: first.session_id,
      token: first.token,
      ca: fs.readFileSync(host.certPath),
    }).connect();
    await host.placement!.report({
      endpoint: host.endpoint,
      sessions: host.server.sessions.size,
      channels: host.server.channels.size,
    });

    // The same channel asked through the other server stays where it is.
    expect((await join(other, guild, channelA)).endpoint).toBe(host.endpoint);
    // A new channel goes to the idle server.
    expect((await join(host, guild, newId())).endpoint).toBe(other.endpoint);
    client.close();
  });
});
