/** The session record and its store contract, intents grants, shard routing and the identify throttle, in isolation. */
import { describe, expect, it } from 'vitest';
import { GatewaySession, type SessionSink } from '../../gateway-lite/gateway/session.ts';
import { checkIntents, IntentGrants } from '../../gateway-lite/gateway/intents.ts';
import { IdentifyThrottle, shardOf } from '../../gateway-lite/gateway/limits.ts';
import { Intent, MemorySessionStore } from '../../gateway-lite/index.ts';

const sink = (frames: string[], congested = false): SessionSink => ({
  congested: () => congested,
  sendFrame: (f) => frames.push(f),
});

function session(store = new MemorySessionStore(), maxReplay = 5) {
  return new GatewaySession(
    {
      sessionId: 's1',
      userId: 'u1',
      tokenHash: 'h',
      intents: 1,
      shard: [0, 1],
      largeThreshold: 50,
      guildIds: ['g'],
      presence: null,
    },
    maxReplay,
    store,
  );
}

describe('gateway session', () => {
  it('numbers dispatches, sheds sheddable ones when congested, bounds the replay window', () => {
    const frames: string[] = [];
    const s = session();
    s.attach(sink(frames));
    for (let i = 0; i < 8; i++) expect(s.deliver('MESSAGE_CREATE', `{"i":${i}}`, `e${i}`)).toBe('sent');
    expect(JSON.parse(frames[7])).toEqual({ t: 'MESSAGE_CREATE', s: 8, op: 0, d: { i: 7 } });
    s.attach(sink(frames, true));
    expect(s.deliver('TYPING_START', '{}', undefined, true)).toBe('shed');
    expect(s.seq).toBe(8);
    const r = s.missedSince(4);
    expect(r.ok && r.entries.map((e) => e.s)).toEqual([5, 6, 7, 8]);
    expect(s.missedSince(2)).toEqual({ ok: false, why: 'gap' });
    expect(s.missedSince(9)).toEqual({ ok: false, why: 'ahead' });
    s.acknowledge(6);
    const after = s.missedSince(6);
    expect(after.ok && after.entries.map((e) => e.s)).toEqual([7, 8]);
    expect(s.replayedIds()).toEqual(new Set(['e6', 'e7']));
  });

  it('while detached, appends go to the store; a take elsewhere makes the holder let go; only one take wins', async () => {
    const store = new MemorySessionStore();
    const s = session(store);
    let gone = 0;
    s.onGone = () => gone++;
    s.attach(sink([]));
    s.deliver('MESSAGE_CREATE', '{}', 'a');
    await s.detach(Date.now() + 60_000, 'node-a');
    expect(s.deliver('TYPING_START', '{}', 'b', true)).toBe('shed');
    expect(s.deliver('MESSAGE_CREATE', '{}', 'c')).toBe('buffered');
    await new Promise((r) => setTimeout(r, 10)); // appends are chained, one at a time
    const [x, y] = await Promise.all([store.take('s1'), store.take('s1')]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    expect((x ?? y)!.replay.map((e) => e.s)).toEqual([1, 2]);
    expect((x ?? y)!.seq).toBe(2);
    s.deliver('MESSAGE_CREATE', '{}', 'd');
    await new Promise((r) => setTimeout(r, 10));
    expect(gone).toBe(1);
    expect(await store.take('s1')).toBeNull();
  });

  it('expired records are not resumable', async () => {
    const store = new MemorySessionStore();
    const s = session(store);
    await s.detach(Date.now() - 1, 'node-a');
    expect(await store.take('s1')).toBeNull();
  });
});

describe('intents, shards, identify throttle', () => {
  it('grants privileged intents per bot or to everyone; 4013 for unknown bits, 4014 for ungranted ones', () => {
    const g = new IntentGrants('GUILD_MEMBERS, 42:MESSAGE_CONTENT');
    expect(g.granted('42')).toBe(Intent.GUILD_MEMBERS | Intent.MESSAGE_CONTENT);
    expect(g.granted('7')).toBe(Intent.GUILD_MEMBERS);
    expect(checkIntents(Intent.MESSAGE_CONTENT, g.granted('42'))).toEqual({ ok: true });
    expect(checkIntents(Intent.MESSAGE_CONTENT | Intent.GUILDS, g.granted('7'))).toMatchObject({
      ok: false,
      code: 4014,
    });
    expect(checkIntents(1 << 29, g.granted('7'))).toMatchObject({ ok: false, code: 4013 });
    expect(() => new IntentGrants('GUILDS')).toThrow(/not a privileged intent/);
  });

  it('routes guilds by (id >> 22) % shards, guildless events to shard 0', () => {
    const id = ((123n << 22n) | 5n).toString();
    expect(shardOf(id, 4)).toBe(3);
    expect(shardOf(id, 1)).toBe(0);
    expect(shardOf(null, 4)).toBe(0);
  });

  it('admits one identify per max_concurrency bucket per window', () => {
    const t = new IdentifyThrottle(2, 5000);
    expect(t.admit('bot', 0, 0)).toBe(true);
    expect(t.admit('bot', 1, 0)).toBe(true);
    expect(t.admit('bot', 2, 100)).toBe(false); // bucket 0 again
    expect(t.admit('other', 0, 100)).toBe(true);
    expect(t.admit('bot', 2, 5000)).toBe(true);
  });
});
