import fs from 'node:fs';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSignalingConfig, Op, type VoiceGateway } from '../../signaling/index.ts';
import { VoiceClient, counterValue, newId, startTestGateway } from '../../testkit/index.ts';

describe('join tokens are single-use and short-lived', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a second Identify with a used token gets 4004 and the live session keeps its socket', async () => {
    const guild = newId();
    const user = newId();
    const grant = gw.server.grantJoin(guild, newId(), user);
    const a = await new VoiceClient({
      url: gw.wssUrl,
      serverId: guild,
      userId: user,
      sessionId: grant.session_id,
      token: grant.token,
      ca: fs.readFileSync(gw.certPath),
    }).connect();
    const live = gw.server.sessions.get(grant.session_id);
    expect(live?.conn).toBeTruthy();

    const replay = new WebSocket(gw.wsUrl!);
    replay.on('error', () => {});
    const code = new Promise<number>((r) => replay.on('close', (c) => r(c)));
    await new Promise((r) => replay.once('open', r));
    replay.send(
      JSON.stringify({
        op: Op.Identify,
        d: { server_id: guild, user_id: user, session_id: grant.session_id, token: grant.token },
      }),
    );
    expect(await code).toBe(4004);
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'token_reused' })).toBe(1);
    // The replay did not evict the session the token created.
    expect(gw.server.sessions.get(grant.session_id)).toBe(live);
    expect(live?.conn?.open).toBe(true);
    a.close();
  });

  it('tokens live 60 s by default', () => {
    expect(loadSignalingConfig({}).VOICE_TOKEN_TTL_S).toBe(60);
  });
});
