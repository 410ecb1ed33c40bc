/**
 * The WebRTC engine's bridge with real parts on both sides: a real voice server with native clients (the lean
 * VoiceClient, AES-GCM transport) and real mediasoup workers, with a loopback PlainTransport from the test standing in
 * for a browser's media. Audio crosses both ways byte for byte (DAVE-marked frames included), the audio-level
 * observer feeds speaking, a browser peer gets its ICE-lite/DTLS parameters and its consumers, and a worker killed
 * mid-call moves the channel while the native clients keep talking.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { WebRtcEngine, type Router, type WebRtcChannel } from '../../sfu/index.ts';
import {
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  type ReceivedFrame,
  type VoiceClient,
} from '../../testkit/index.ts';
import { PlainPeer, requireWorker } from './webrtc-helpers.ts';

/** Real Opus, plus one frame ending in DAVE's 0xFAFA marker: payload bytes must cross the bridge untouched. */
const { frames: opus } = fixtureOpusFrames();
const FRAMES = [...opus.slice(0, 20), Buffer.concat([opus[opus.length - 1], Buffer.from([0x00, 0x0c, 0xfa, 0xfa])])];

async function pace(send: (f: Buffer) => void, frames: Buffer[]): Promise<void> {
  for (const f of frames) {
    send(f);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WebRTC engine bridge (mediasoup ⇄ native SFU)', () => {
  let gw: VoiceGateway;
  let engine: WebRtcEngine;
  let native: Router;
  let ch: WebRtcChannel;
  let a: VoiceClient;
  let b: VoiceClient;
  const guild = newId();
  const channel = newId();
  const peers: PlainPeer[] = [];
  const registry = new Registry();
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    (await registry.getSingleMetric(name)!.get()).values.find((v) =>
      Object.entries(labels).every(([k, x]) => v.labels[k] === x),
    )?.value ?? 0;

  beforeAll(async () => {
    await requireWorker();
    gw = await startTestGateway({ VOICE_E2EE: 'off' });
    const routers: Router[] = [];
    gw.sfu!.observer.on('newrouter', (r) => routers.push(r));
    engine = new WebRtcEngine({ listenIp: '127.0.0.1', workers: 2, registry }, pino({ level: 'warn' }));
    const status = await engine.start();
    expect(status).toEqual({ available: true, workers: 2 });
    a = await rawClient(gw, guild, channel);
    b = await rawClient(gw, guild, channel);
    native = routers[0];
    ch = await engine.channel(native.id, native);
    await waitFor(() => !!ch.bridge.producerOf(a.ssrc) && !!ch.bridge.producerOf(b.ssrc), 5000, 'bridge producers');
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    a?.close();
    b?.close();
    await engine?.close();
    await gw?.close();
  });

  it('a native speaker reaches a mediasoup consumer, payloads byte for byte', async () => {
    const peer = await PlainPeer.open(ch.mediasoupRouter!);
    peers.push(peer);
    const wire = await peer.consume(ch.bridge.producerOf(a.ssrc)!);
    await pace((f) => a.sendOpus(f), FRAMES);
    await waitFor(() => peer.frames.filter((f) => f.ssrc === wire).length >= FRAMES.length, 5000, 'bridged frames');
    const got = peer.frames.filter((f) => f.ssrc === wire).map((f) => f.payload.toString('hex'));
    expect(got).toEqual(FRAMES.map((f) => f.toString('hex')));
    expect(await metric('resound_webrtc_bridge_packets', { direction: 'to_mediasoup' })).toBeGreaterThanOrEqual(
      FRAMES.length,
    );
  });

  it('a mediasoup producer reaches every native client, sealed per receiver, with speaking from its audio level', async () => {
    const peer = await PlainPeer.open(ch.mediasoupRouter!);
    peers.push(peer);
    const userId = newId();
    const speaking: [string, boolean][] = [];
    ch.on('speaking', (u, on) => speaking.push([u, on]));
    const producer = await peer.produce(0x5eed, userId);
    const part = await ch.attachSpeaker(userId, producer);
    expect(native.participant(userId)?.ssrc).toBe(part.ssrc);
    const atA: ReceivedFrame[] = [];
    const atB: ReceivedFrame[] = [];
    a.on('frame', (f) => f.ssrc === part.ssrc && atA.push(f));
    b.on('frame', (f) => f.ssrc === part.ssrc && atB.push(f));
    await pace((f) => peer.send(0x5eed, f, 20), FRAMES);
    const want = FRAMES.map((f) => f.toString('hex'));
    await waitFor(() => atA.length >= FRAMES.length && atB.length >= FRAMES.length, 5000, 'frames at natives');
    expect(atA.map((f) => f.payload.toString('hex'))).toEqual(want);
    expect(atB.map((f) => f.payload.toString('hex'))).toEqual(want);
    // Loud (-20 dBov) for 420 ms: the observer (200 ms interval) calls it speech.
    await waitFor(() => speaking.some(([u, on]) => u === userId && on), 3000, 'speaking on');
    // Nothing crossed back into mediasoup as a second copy of this voice.
    expect(peer.frames.filter((f) => f.ssrc === 0x5eed)).toHaveLength(0);
    producer.close();
    native.removeParticipant(userId);
    expect(native.participant(userId)).toBeUndefined();
  });

  it('a browser peer gets ICE-lite/DTLS parameters on the shared port and a consumer per native speaker', async () => {
    const userId = newId();
    const peer = await ch.addBrowser(userId, 0xb0b);
    expect(peer.local.ice.iceLite).toBe(true);
    expect(peer.local.ice.usernameFragment.length).toBeGreaterThan(3);
    expect(peer.local.candidates).toHaveLength(1);
    expect(peer.local.candidates[0]).toMatchObject({ address: '127.0.0.1', protocol: 'udp', type: 'host' });
    const slot = engine.workers!.live.find((s) => s.index === ch.workerSlot)!;
    const ports = (await slot.server.dump()).udpSockets.map((u) => u.port);
    expect(ports).toContain(peer.local.candidates[0].port);
    expect(
      peer.local.fingerprints.some((f) => f.algorithm === 'sha-256' && /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(f.value)),
    ).toBe(true);
    const users = peer.consumers.map((c) => [c.userId, c.userSsrc]);
    expect(users).toEqual(
      expect.arrayContaining([
        [a.opts.userId, a.ssrc],
        [b.opts.userId, b.ssrc],
      ]),
    );
    expect(new Set(peer.consumers.map((c) => c.mid)).size).toBe(peer.consumers.length);
    expect(peer.consumers.every((c) => c.mid !== '0' && c.payloadType === 111)).toBe(true);
    // The browser is in the native SSRC/user map under the SSRC signaling gave it.
    expect(native.participant(userId)?.ssrc).toBe(0xb0b);
    // Two browsers share one port per worker.
    const other = await ch.addBrowser(newId());
    expect(other.local.candidates[0].port).toBe(peer.local.candidates[0].port);
    // A native client joining later becomes a new stream for the browser; leaving ends it.
    const added: string[] = [];
    const ended: string[] = [];
    peer.on('consumer', (c) => added.push(c.userId));
    peer.on('consumerclose', (c) => ended.push(c.userId));
    const c = await rawClient(gw, guild, channel);
    await waitFor(() => added.includes(c.opts.userId), 5000, 'consumer event for a late native joiner');
    expect(peer.consumers.find((x) => x.userId === c.opts.userId)?.userSsrc).toBe(c.ssrc);
    c.close();
    await waitFor(() => ended.includes(c.opts.userId), 5000, 'consumerclose when the native client leaves');
    // A bogus fingerprint is accepted as data; the handshake (never started here) is what would fail.
    await peer.connect({ fingerprints: [{ algorithm: 'sha-256', value: '00:'.repeat(31) + '00' }], role: 'client' });
    peer.close();
    other.close();
    expect(native.participant(userId)).toBeUndefined();
  });

  it('a worker killed mid-call: the channel moves, browsers are told to rejoin, native clients keep talking', async () => {
    const browser = await ch.addBrowser(newId());
    const told: string[] = [];
    browser.on('rejoin', (why) => told.push(why));
    const before = ch.workerSlot;
    const dead = engine.workers!.live.find((s) => s.index === before)!;
    const atB: ReceivedFrame[] = [];
    b.on('frame', (f) => f.ssrc === a.ssrc && atB.push(f));
    const moved = new Promise<number>((resolve) => ch.once('moved', resolve));
    const talking = pace((f) => a.sendOpus(f), [...FRAMES, ...FRAMES]);
    process.kill(dead.worker.pid, 'SIGKILL');
    const slot = await moved;
    await talking;
    expect(slot).not.toBe(before);
    expect(told).toEqual(['worker_died']);
    expect(await metric('resound_webrtc_worker_deaths_total')).toBe(1);
    expect(await metric('resound_webrtc_channels_moved_total')).toBe(1);
    expect(await metric('resound_webrtc_browsers')).toBe(0);
    expect(browser.closed).toBe(true);
    await waitFor(() => atB.length >= 2 * FRAMES.length, 5000, 'native audio through the worker death');
    expect(atB.map((f) => f.payload.toString('hex'))).toEqual([...FRAMES, ...FRAMES].map((f) => f.toString('hex')));
    // The bridge is back on the new router: native audio reaches mediasoup again.
    await waitFor(() => !!ch.bridge.producerOf(a.ssrc), 5000, 'bridge producers re-created');
    const peer = await PlainPeer.open(ch.mediasoupRouter!);
    peers.push(peer);
    const wire = await peer.consume(ch.bridge.producerOf(a.ssrc)!);
    await pace((f) => a.sendOpus(f), FRAMES);
    await waitFor(() => peer.frames.filter((f) => f.ssrc === wire).length >= FRAMES.length, 5000, 'bridged again');
    // The pool replaced the dead worker in its slot.
    await waitFor(() => engine.workers!.live.length === 2, 10_000, 'worker restarted');
    expect(engine.workers!.live.map((s) => s.index).sort()).toEqual([0, 1]);
  });
});
