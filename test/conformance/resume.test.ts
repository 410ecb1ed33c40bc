import { describe, expect, it } from 'vitest';
import { VoiceConnectionStatus, entersState } from '@discordjs/voice';
import { Close, Op } from '../../signaling/index.ts';
import { useGateway } from './harness.ts';
import { collectFrames, counterValue, fixtureOpusFrames, hex, newId, play, waitFor } from '../../testkit/index.ts';

describe('server-initiated 4015 and buffered resume', () => {
  const t = useGateway();

  it('the client resumes without a new Identify, keeps its SSRC state, gets messages sent while away', async () => {
    const guild = newId();
    const channel = newId();
    const gw = t.gw;
    const a = await t.join(guild, channel);
    const b = await t.join(guild, channel);
    const { frames } = fixtureOpusFrames();
    const part = frames.slice(0, 8);
    const sessionA = gw.server.sessionOf(guild, a.userId)!;
    const ssrcA = sessionA.ssrc;
    const resumedBefore = await counterValue(gw, 'resound_signaling_resumes_total', { result: 'ok' });

    // Server-side close 4015 ("voice server crashed"), then a message while A has no socket: it must be replayed.
    const ghostUser = newId();
    expect(gw.server.disconnect(guild, a.userId, Close.VoiceServerCrashed, 'test crash')).toBe(true);
    sessionA.send(Op.Speaking, { user_id: ghostUser, ssrc: 4242, speaking: 0 });

    await waitFor(() => sessionA.conn !== null && sessionA.conn.open, 10_000, 'A to resume');
    await entersState(a.connection, VoiceConnectionStatus.Ready, 10_000);
    const resumedAfter = await counterValue(gw, 'resound_signaling_resumes_total', { result: 'ok' });
    expect(resumedAfter).toBe(resumedBefore + 1);
    expect(a.joins()).toBe(1); // no re-join through the adapter: a real resume
    expect(gw.server.sessionOf(guild, a.userId)).toBe(sessionA);
    expect(sessionA.ssrc).toBe(ssrcA);
    await waitFor(
      () => a.connection.receiver.ssrcMap.get(4242)?.userId === ghostUser,
      5000,
      'replayed op 5 to reach A',
    );

    // Both directions still work with the pre-resume SSRC mappings.
    const toB = collectFrames(b, a.userId, part.length);
    await play(a, part);
    expect(hex(await toB)).toEqual(hex(part));
    const toA = collectFrames(a, b.userId, part.length);
    await play(b, part);
    expect(hex(await toA)).toEqual(hex(part));
    expect(gw.server.channels.get(`${guild}:${channel}`)?.sessions.size).toBe(2);
  });

  it('4014 kicks the client out for good and the others see it leave', async () => {
    const guild = newId();
    const channel = newId();
    const gw = t.gw;
    const a = await t.join(guild, channel);
    const b = await t.join(guild, channel);
    await waitFor(
      () => b.connection.receiver.ssrcMap.get(gw.server.sessionOf(guild, a.userId)!.ssrc) !== undefined,
      5000,
      'B to know A',
    );
    const ssrcA = gw.server.sessionOf(guild, a.userId)!.ssrc;
    gw.server.disconnect(guild, a.userId, Close.Disconnected, 'kicked');
    await entersState(a.connection, VoiceConnectionStatus.Disconnected, 5000);
    await waitFor(() => b.connection.receiver.ssrcMap.get(ssrcA) === undefined, 5000, 'op 13 to reach B');
    expect(gw.server.sessionOf(guild, a.userId)).toBeUndefined();
    expect(a.joins()).toBe(1);
  });
});
