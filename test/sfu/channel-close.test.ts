/**
 * Closing a voice channel with people in it cascades channel → router → transports → participants: every child hears
 * its close exactly once, the clients are told (4014), and nothing is left behind — counted, not assumed.
 */
import { createHook } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import type { Participant, Router, Transport } from '../../sfu/index.ts';
import {
  counterValue,
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  waitForCounter,
  type VoiceClient,
} from '../../testkit/index.ts';

/** Open sockets (UDP and TCP) of this thread; timers are counted by `TimerCensus` (unref'd ones are not listed here). */
function resources(): Record<string, number> {
  const out: Record<string, number> = { UDPWrap: 0, TCPSocketWrap: 0, TCPServerWrap: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in out) out[r]++;
  return out;
}

/** Timers (ref'd or not) created while enabled and not yet cleared or fired; `waitFor`'s own 20 ms polls excluded. */
class TimerCensus {
  readonly live = new Map<number, number>();
  private readonly hook = createHook({
    init: (id, type, _trigger, resource) => {
      const ms = (resource as { _idleTimeout?: number })._idleTimeout;
      if (type === 'Timeout' && ms !== 20) this.live.set(id, ms ?? -1);
    },
    destroy: (id) => {
      this.live.delete(id);
    },
  });
  start(): void {
    this.hook.enable();
  }
  stop(): void {
    this.hook.disable();
  }
}

const gauge = async (gw: VoiceGateway, name: string): Promise<number> =>
  (await gw.registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);

describe('closing a voice channel with participants', () => {
  let gw: VoiceGateway;
  let baseline: Record<string, number>;
  const heard = {
    routers: new Map<Router, number>(),
    routerclose: new Map<Transport, number>(),
    transportClosedObserved: new Map<Transport, number>(),
    transportclose: new Map<Participant, number>(),
    speaking: [] as Array<[string, boolean]>,
  };
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

  beforeAll(async () => {
    gw = await startTestGateway({ VOICE_E2EE: 'off' });
    gw.sfu!.observer.on('newrouter', (router) => {
      heard.routers.set(router, 0);
      router.observer.on('close', () => bump(heard.routers, router));
      router.observer.on('newtransport', (t) => {
        heard.routerclose.set(t, 0);
        heard.transportClosedObserved.set(t, 0);
        t.on('routerclose', () => bump(heard.routerclose, t));
        t.observer.on('close', () => bump(heard.transportClosedObserved, t));
      });
      router.observer.on('speaking', (p, on) => heard.speaking.push([p.userId, on]));
      router.observer.on('newparticipant', (p) => {
        heard.transportclose.set(p, 0);
        p.on('transportclose', () => bump(heard.transportclose, p));
      });
    });
    baseline = resources();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('every transport hears routerclose once, every participant transportclose once, and nothing leaks', async () => {
    const timers = new TimerCensus();
    timers.start();
    const guild = newId();
    const channel = newId();
    const clients: VoiceClient[] = [];
    for (let i = 0; i < 3; i++) clients.push(await rawClient(gw, guild, channel));
    const [a, b, c] = clients;
    const { frames } = fixtureOpusFrames();
    const got = { b: 0, c: 0 };
    b.on('frame', () => got.b++);
    c.on('frame', () => got.c++);
    await waitFor(() => b.ssrcs.size === 2 && c.ssrcs.size === 2, 5000, 'everyone to learn everyone');
    a.setSpeaking(1);
    for (const f of frames.slice(0, 5)) a.sendOpus(f);
    await waitFor(() => got.b === 5 && got.c === 5, 5000, 'media to flow');
    // The monitoring observer saw A's talk spurt open, from the media itself.
    expect(heard.speaking).toEqual([[a.opts.userId, true]]);
    expect(gw.sfu!.transportCount).toBe(3);
    expect(gw.sfu!.routerCount).toBe(1);
    expect(await gauge(gw, 'resound_sfu_participants')).toBe(3);
    const ours = async () =>
      (await gw.registry.getSingleMetric('resound_sfu_stream_packets')!.get()).values.filter((v) =>
        clients.some((cl) => v.labels.ssrc === String(cl.ssrc)),
      );
    expect(await ours()).toHaveLength(3);

    const closes = clients.map((cl) => new Promise<number>((r) => cl.once('close', (code) => r(code))));
    expect(gw.server.closeChannel(guild, channel)).toBe(true);
    expect(await Promise.all(closes)).toEqual([4014, 4014, 4014]);

    // Exactly once each: one router, three transports, three participants.
    expect([...heard.routers.values()]).toEqual([1]);
    expect([...heard.routerclose.values()]).toEqual([1, 1, 1]);
    expect([...heard.transportClosedObserved.values()]).toEqual([1, 1, 1]);
    expect([...heard.transportclose.values()]).toEqual([1, 1, 1]);
    // Nothing left in the SFU's tables, the server's maps, or the metrics.
    expect(gw.sfu!.transportCount).toBe(0);
    expect(gw.sfu!.routerCount).toBe(0);
    expect(gw.server.channels.size).toBe(0);
    expect(gw.server.sessions.size).toBe(0);
    expect(await gauge(gw, 'resound_sfu_participants')).toBe(0);
    expect(await gauge(gw, 'resound_sfu_routers')).toBe(0);
    for (const p of heard.transportclose.keys()) {
      expect(p.rewriterCount).toBe(0);
      expect(p.transport.closed).toBe(true);
    }
    expect(await ours()).toEqual([]);

    // A's SSRC is gone from the table: its next packet is an unknown SSRC, not media.
    const unknown = await counterValue(gw, 'resound_sfu_dropped_total', { reason: 'unknown_ssrc' });
    a.sendOpus(frames[5]);
    await waitForCounter(
      gw,
      'resound_sfu_dropped_total',
      { reason: 'unknown_ssrc' },
      unknown + 1,
      5000,
      'the stale SSRC to be refused',
    );

    // Sockets and timers back to what the idle gateway had (the clients' own sockets close too).
    for (const cl of clients) cl.close();
    let now = resources();
    await waitFor(
      () => Object.keys(baseline).every((k) => now[k] === baseline[k]) && timers.live.size === 0,
      10_000,
      `sockets and timers to return to the idle baseline`,
      async () => {
        now = resources();
      },
    );
    timers.stop();
    expect(now).toEqual(baseline);
    expect([...timers.live.values()]).toEqual([]);
  });
});
