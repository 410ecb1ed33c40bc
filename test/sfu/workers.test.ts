/**
 * One SFU worker per core: channels placed on worker processes, real clients on both, and a worker killed mid-call.
 * Everything is real: the worker processes, their UDP sockets, @discordjs/voice with DAVE, the lean native client.
 */
import dgram from 'node:dgram';
import { entersState, VoiceConnectionStatus } from '@discordjs/voice';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { expectFixtureHeard } from '../conformance/harness.ts';
import {
  counterValue,
  fixtureOpusFrames,
  joinClient,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  waitForSharedGroup,
  type TestClient,
  type VoiceClient,
} from '../../testkit/index.ts';

function mediaOf(gw: VoiceGateway, guild: string, channel: string) {
  const ch = gw.server.channels.get(`${guild}:${channel}`);
  if (!ch) throw new Error(`no channel ${channel}`);
  return ch.router;
}

/** With DAVE on, the pair forms its group first (the gate's member list mirrored into the worker). */
async function expectAudio(a: TestClient, b: TestClient): Promise<void> {
  await waitForSharedGroup([a, b]);
  await expectFixtureHeard(a, b);
}

describe('SFU worker processes (SFU_WORKERS=2)', () => {
  let gw: VoiceGateway;
  const clients: TestClient[] = [];
  const raws: VoiceClient[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ SFU_WORKERS: '2', VOICE_E2EE: 'optional' });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const r of raws) r.close();
    await gw?.close();
  });

  const join = async (guild: string, channel: string) => {
    const c = await joinClient(gw, guild, channel, { daveEncryption: true });
    clients.push(c);
    return c;
  };

  it('places two channels on different workers (own ports) and both carry E2EE audio', async () => {
    const pool = gw.sfuPool!;
    expect(pool.size).toBe(2);
    expect(new Set(pool.ports).size).toBe(2);
    const guild = newId();
    const [one, two] = [newId(), newId()];
    const a1 = await join(guild, one);
    const b1 = await join(guild, one);
    const a2 = await join(guild, two);
    const b2 = await join(guild, two);
    const m1 = mediaOf(gw, guild, one);
    const m2 = mediaOf(gw, guild, two);
    expect(m1.local).toBeNull();
    expect(m1.workerId).not.toBe(m2.workerId);
    expect(m1.port).not.toBe(m2.port);
    // Each pair forms its DAVE group (the gate's member list mirrored into the worker), then audio flows on each.
    await Promise.all([expectAudio(a1, b1), expectAudio(a2, b2)]);
    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toMatch(/resound_sfu_worker_up\{worker="1"\} 1/);
    expect(metrics).toMatch(/resound_sfu_worker_up\{worker="2"\} 1/);
    // The workers' own series, summed: both forwarded the fixture to their listener.
    const forwarded = /resound_sfu_packets_forwarded_total (\d+)/.exec(metrics);
    expect(Number(forwarded?.[1] ?? 0)).toBeGreaterThanOrEqual(2 * fixtureOpusFrames().frames.length);
    const health = (await (await fetch(`${gw.internalUrl}/healthz`)).json()) as { sfu_workers: unknown[] };
    expect(health.sfu_workers).toHaveLength(2);
  });

  it('a killed worker costs only its channel: its clients rejoin by themselves, the other keeps every packet', async () => {
    const pool = gw.sfuPool!;
    const guild = newId();
    const [doomed, steady] = [newId(), newId()];
    const a = await join(guild, doomed);
    const b = await join(guild, doomed);
    // The steady channel: a lean sender at 50 packets/s and a listener recording sequence numbers.
    const s = await rawClient(gw, guild, steady);
    const r = await rawClient(gw, guild, steady);
    raws.push(s, r);
    const victim = mediaOf(gw, guild, doomed).workerId;
    const survivor = mediaOf(gw, guild, steady).workerId;
    expect(victim).not.toBe(survivor);

    const seqs: number[] = [];
    r.on('frame', (f) => {
      if (f.ssrc === s.ssrc) seqs.push(f.sequence);
    });
    await waitFor(() => r.ssrcs.has(s.ssrc), 5000, 'steady listener learns the sender');
    s.setSpeaking(1);
    const { frames } = fixtureOpusFrames();
    let i = 0;
    const sender = setInterval(() => s.sendOpus(frames[i++ % frames.length]), 20);
    try {
      await waitFor(() => seqs.length >= 25, 5000, 'steady channel flowing');
      const evictionsBefore = await counterValue(gw, 'resound_signaling_worker_evictions_total');
      let onVictim = 0;
      for (const ch of gw.server.channels.values()) if (ch.router.workerId === victim) onVictim += ch.sessions.size;
      pool.members.find((w) => w.id === victim)!.kill('SIGKILL');

      // 4006 → @discordjs/voice asks its adapter to join again → new Identify, placed on a live worker.
      await waitFor(() => a.joins() === 2 && b.joins() === 2, 15_000, 'both clients of the dead worker rejoin');
      await Promise.all([
        entersState(a.connection, VoiceConnectionStatus.Ready, 15_000),
        entersState(b.connection, VoiceConnectionStatus.Ready, 15_000),
      ]);
      expect(await counterValue(gw, 'resound_signaling_worker_evictions_total')).toBe(evictionsBefore + onVictim);
      await waitFor(() => pool.members.every((w) => w.ready), 15_000, 'the dead worker restarted');
      const sentWhileKilled = seqs.length;
      await waitFor(() => seqs.length >= sentWhileKilled + 25, 5000, 'steady channel still flowing');
    } finally {
      clearInterval(sender);
    }
    // The steady channel never noticed: every sequence number arrived, consecutive (no gap, no loss).
    for (let k = 1; k < seqs.length; k++) expect((seqs[k] - seqs[k - 1]) & 0xffff).toBe(1);
    expect(r.closeCode).toBeNull();
    // The rejoined clients talk again, end to end encrypted, on whichever worker now hosts their channel.
    await expectAudio(a, b);
    expect(await counterValue(gw, 'resound_sfu_worker_deaths_total', { worker: String(victim) })).toBe(1);
  });

  it('garbage on every worker port is dropped and counted (summed over workers); the channels keep working', async () => {
    const pool = gw.sfuPool!;
    const dropped = async (reason: string): Promise<number> => {
      const text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
      const m = new RegExp(`resound_sfu_dropped_total\\{reason="${reason}"\\} (\\d+)`).exec(text);
      return Number(m?.[1] ?? 0);
    };
    const [malformed0, unknown0] = [await dropped('malformed'), await dropped('unknown_ssrc')];
    const sock = dgram.createSocket('udp4');
    const unknownSsrc = Buffer.alloc(60);
    unknownSsrc.set([0x80, 0x78, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    try {
      for (const port of pool.ports) {
        for (let k = 0; k < 10; k++) {
          sock.send(Buffer.alloc(100, 0x11), port, '127.0.0.1');
          sock.send(unknownSsrc, port, '127.0.0.1');
        }
      }
      let malformed = 0;
      let unknown = 0;
      await waitFor(
        () => malformed >= malformed0 + 20 && unknown >= unknown0 + 20,
        10_000,
        'drops counted by both workers',
        async () => {
          [malformed, unknown] = [await dropped('malformed'), await dropped('unknown_ssrc')];
        },
      );
    } finally {
      sock.close();
    }
    const guild = newId();
    const channel = newId();
    const a = await join(guild, channel);
    const b = await join(guild, channel);
    await expectAudio(a, b);
  });
});
