/**
 * DAVE end to end with real @discordjs/voice 0.19.2 clients (daveEncryption on) and @snazzah/davey against a Resound
 * voice gateway: group formation, joins, leaves, sole-member reset, commit races, hostile input, version negotiation.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import type { VoiceGateway } from '../../signaling/index.ts';
import {
  closeCodeOf,
  endsWithMarker,
  holdingRelay,
  metricValue,
  rawDaveClient,
  sendBinary,
  tapGate,
} from './e2ee-helpers.ts';
import {
  bestCorrelation,
  collectFrames,
  decodeFrames,
  fixtureOpusFrames,
  joinClient,
  newId,
  play,
  startTestGateway,
  waitFor,
  type TestClient,
  codeOf,
  destroyQuietly,
  epochOf,
  protocolVersionOf,
  statusOf,
  trackTransitions,
  waitForSharedGroup,
} from '../../testkit/index.ts';

const { frames, pcm } = fixtureOpusFrames();
const SHORT = frames.slice(0, 25);

/** `listener` receives every frame `speaker` plays, byte-identical after DAVE decryption. */
async function hears(speaker: TestClient, listener: TestClient, clip = SHORT): Promise<Buffer[]> {
  const got = collectFrames(listener, speaker.userId, clip.length);
  await play(speaker, clip);
  const received = await got;
  for (let i = 0; i < clip.length; i++) expect(Buffer.compare(received[i], clip[i])).toBe(0);
  return received;
}

describe('DAVE with real clients', () => {
  let gw: VoiceGateway;
  let clients: TestClient[] = [];
  const uncaught: Error[] = [];
  const trap = (err: Error): void => {
    uncaught.push(err);
  };
  const dave = (guild: string, channel: string) =>
    joinClient(gw, guild, channel, { daveEncryption: true }).then((c) => (clients.push(c), c));

  beforeAll(async () => {
    gw = await startTestGateway({ VOICE_E2EE: 'optional' });
    process.on('uncaughtException', trap);
  });
  afterEach(() => {
    for (const c of clients) destroyQuietly(c);
    clients = [];
  });
  afterAll(async () => {
    process.off('uncaughtException', trap);
    await gw?.close();
  });
  beforeEach(() => {
    uncaught.length = 0;
  });

  it('1. two clients share epoch and privacy code; A→B audio is E2EE on the SFU, decodes to the fixture', async () => {
    const [guild, channel] = [newId(), newId()];
    const a = await dave(guild, channel);
    const b = await dave(guild, channel);
    const ta = trackTransitions(a);
    const { epoch, code } = await waitForSharedGroup([a, b]);
    expect(epoch).toBe(1n);
    expect(code).toMatch(/^\d{30}$/);
    await waitFor(() => ta.length > 0 || epochOf(a) === 1n, 5000, 'transition');
    const tap = tapGate(gw, channel, a.userId);
    const received = await hears(a, b, frames);
    expect(bestCorrelation(pcm, decodeFrames(received))).toBeGreaterThan(0.9);
    const media = tap.seen.filter((f) => !(f.length === 3 && f[0] === 0xf8));
    expect(media.length).toBeGreaterThanOrEqual(frames.length);
    for (const f of media) {
      expect(endsWithMarker(f)).toBe(true);
      expect(frames.some((o) => o.equals(f))).toBe(false);
    }
    expect(await metricValue(gw, 'resound_dave_groups')).toBeGreaterThanOrEqual(1);
    expect(await metricValue(gw, 'resound_dave_join_to_first_e2ee_frame_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(uncaught).toEqual([]);
  });

  it('2 + 3. a third joins; leaves move the rest to new epochs; a sole member resets, re-forms', async () => {
    const [guild, channel] = [newId(), newId()];
    const a = await dave(guild, channel);
    const b = await dave(guild, channel);
    const g1 = await waitForSharedGroup([a, b]);
    const c = await dave(guild, channel);
    const g2 = await waitForSharedGroup([a, b, c], g1.epoch);
    expect(g2.code).not.toBe(g1.code);
    await hears(c, a);
    await hears(a, c);
    await hears(b, c);

    b.destroy();
    const g3 = await waitForSharedGroup([a, c], g2.epoch);
    await hears(a, c);
    await hears(c, a);

    const ta = trackTransitions(a);
    c.destroy();
    await waitFor(() => ta.includes(0), 10_000, 'sole member reset (transition 0)');
    await waitFor(() => statusOf(a) === Davey.SessionStatus.PENDING, 5000, 'sole member pending');
    expect(g3.epoch).toBeGreaterThan(g2.epoch);

    const d = await dave(guild, channel);
    const g4 = await waitForSharedGroup([a, d]);
    expect(g4.epoch).toBe(1n);
    await hears(d, a);
    expect(uncaught).toEqual([]);
  });

  it('4. a commit race: both members commit the Add, exactly one wins and nobody is stuck', async () => {
    const [guild, channel] = [newId(), newId()];
    const a = await dave(guild, channel);
    const b = await dave(guild, channel);
    const g1 = await waitForSharedGroup([a, b]);
    const racesBefore = await metricValue(gw, 'resound_dave_commit_races_lost_total');
    const epochsBefore = await metricValue(gw, 'resound_dave_epochs_total');
    const commitsBefore = await metricValue(gw, 'resound_signaling_messages_in_total', { op: '28' });
    const c = await dave(guild, channel);
    const g2 = await waitForSharedGroup([a, b, c], g1.epoch);
    const commits = (await metricValue(gw, 'resound_signaling_messages_in_total', { op: '28' })) - commitsBefore;
    const epochs = (await metricValue(gw, 'resound_dave_epochs_total')) - epochsBefore;
    const races = (await metricValue(gw, 'resound_dave_commit_races_lost_total')) - racesBefore;
    expect(commits).toBe(2); // A and B both committed Add(C)
    expect(epochs).toBe(1); // one commit won the epoch
    expect(races).toBe(1); // the other was dropped
    expect(g2.epoch).toBe(g1.epoch + 1n);
    await hears(c, b);
    expect(uncaught).toEqual([]);
  });

  it('a member resuming after 4015 gets the DAVE messages it missed (replay buffer), stays in the group', async () => {
    const [guild, channel] = [newId(), newId()];
    // B reaches the gateway through a relay that can hold its reconnect, so its Resume waits on the network.
    const relay = await holdingRelay(Number(gw.endpoint.split(':')[1]));
    try {
      const a = await dave(guild, channel);
      const b = await joinClient(gw, guild, channel, { daveEncryption: true, endpoint: relay.endpoint });
      clients.push(b);
      const g1 = await waitForSharedGroup([a, b]);
      const sessionB = gw.server.sessionOf(guild, b.userId)!;
      const resumedBefore = await metricValue(gw, 'resound_signaling_resumes_total', { result: 'ok' });
      relay.hold();
      expect(gw.server.disconnect(guild, b.userId, 4015, 'test crash')).toBe(true);
      await waitFor(() => relay.waiting() === 1, 10_000, "B's reconnect to reach the relay");
      const c = await dave(guild, channel);
      // A committed Add(C) and the server announced it (op 29) while B was away: it waits in B's replay buffer.
      await waitFor(() => epochOf(a) === g1.epoch + 1n && epochOf(c) === g1.epoch + 1n, 15_000, 'A and C to move on');
      expect(sessionB.conn).toBeNull();
      relay.release();
      const g2 = await waitForSharedGroup([a, b, c], g1.epoch, 20_000);
      expect(await metricValue(gw, 'resound_signaling_resumes_total', { result: 'ok' })).toBe(resumedBefore + 1);
      expect(gw.server.sessionOf(guild, b.userId)).toBe(sessionB);
      expect(b.joins()).toBe(1);
      expect(g2.epoch).toBe(g1.epoch + 1n);
      await hears(c, b);
      expect(uncaught).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  it('5. a malformed key package / commit is closed with 4002/4020; the other clients keep running', async () => {
    const [guild, channel] = [newId(), newId()];
    const a = await dave(guild, channel);
    const b = await dave(guild, channel);
    const g1 = await waitForSharedGroup([a, b]);

    // A key package cut short.
    const r1 = await rawDaveClient(gw, guild, channel, newId());
    const kp = new Davey.DAVESession(1, r1.opts.userId, channel).getSerializedKeyPackage();
    sendBinary(r1, 26, kp.subarray(0, kp.length - 30));
    expect(await closeCodeOf(r1)).toBe(4002);

    // A key package whose credential names someone else (user a).
    const r2 = await rawDaveClient(gw, guild, channel, newId());
    sendBinary(r2, 26, new Davey.DAVESession(1, a.userId, channel).getSerializedKeyPackage());
    expect(await closeCodeOf(r2)).toBe(4020);

    // Garbage in place of a commit.
    const r3 = await rawDaveClient(gw, guild, channel, newId());
    sendBinary(r3, 28, Buffer.from('0001000108deadbeefdeadbeef00000000', 'hex'));
    expect(await closeCodeOf(r3)).toBe(4002);

    // A well-formed commit for another group.
    const r4 = await rawDaveClient(gw, guild, channel, newId());
    const foreign = new Davey.DAVESession(1, r4.opts.userId, newId());
    const other = new Davey.DAVESession(1, newId(), foreign.channelId);
    const { ExternalSender, groupIdFor } = await import('../../signaling/dave/index.ts');
    const es = new ExternalSender();
    foreign.setExternalSender(es.op25Payload);
    const add = es.propose(groupIdFor(foreign.channelId), 0n, {
      type: 'add',
      keyPackage: other.getSerializedKeyPackage(),
    });
    const vec = Buffer.concat([
      Buffer.from([0x40 | (add.message.length >> 8), add.message.length & 0xff]),
      add.message,
    ]);
    const res = foreign.processProposals(Davey.ProposalsOperationType.APPEND, vec, [other.userId]);
    sendBinary(r4, 28, Buffer.concat([res.commit!, res.welcome!]));
    expect(await closeCodeOf(r4)).toBe(4020);

    // A transition id that is not a u16.
    const r5 = await rawDaveClient(gw, guild, channel, newId());
    r5.send(23, { transition_id: 'soon' });
    expect(await closeCodeOf(r5)).toBe(4002);

    expect(await metricValue(gw, 'resound_dave_rejected_total', { reason: 'kp_malformed' })).toBeGreaterThanOrEqual(1);
    expect(
      await metricValue(gw, 'resound_dave_rejected_total', { reason: 'commit_wrong_group' }),
    ).toBeGreaterThanOrEqual(1);
    // The established members never saw any of it and still talk end to end.
    await hears(a, b);
    expect(epochOf(a)).toBeGreaterThanOrEqual(g1.epoch);
    expect(codeOf(a)).toBe(codeOf(b));
    expect(uncaught).toEqual([]);
  });
});

describe('DAVE protocol version negotiation with real clients', () => {
  let required: VoiceGateway;
  let mixed: VoiceGateway;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    [required, mixed] = await Promise.all([
      startTestGateway({ VOICE_E2EE: 'required' }),
      startTestGateway({ VOICE_E2EE: 'optional' }),
    ]);
  });
  afterAll(async () => {
    for (const c of clients) destroyQuietly(c);
    await Promise.all([required?.close(), mixed?.close()]);
  });

  it('6a. a client with DAVE disabled joining an E2EE-required channel is closed with 4017', async () => {
    const [guild, channel] = [newId(), newId()];
    const z = await joinClient(required, guild, channel, { daveEncryption: false, waitReady: false });
    clients.push(z);
    await waitFor(() => z.joins() >= 1, 5000, 'join');
    await metricWait(required, 'resound_signaling_closes_total', { code: '4017' });
    z.destroy();
    expect(await metricValue(required, 'resound_signaling_closes_total', { code: '4017' })).toBeGreaterThanOrEqual(1);
  });

  it('6b. in a mixed channel the DAVE-less client hears only non-E2EE audio', async () => {
    const [guild, channel] = [newId(), newId()];
    const a = await joinClient(mixed, guild, channel, { daveEncryption: true });
    const b = await joinClient(mixed, guild, channel, { daveEncryption: true });
    clients.push(a, b);
    const g1 = await waitForSharedGroup([a, b]);
    const z = await joinClient(mixed, guild, channel, { daveEncryption: false });
    clients.push(z);
    const tap = tapGate(mixed, channel, a.userId);
    // The call downgrades: A and B execute a transition to protocol version 0 and stop encrypting.
    await waitFor(
      () => protocolVersionOf(a) === 0 && protocolVersionOf(b) === 0,
      10_000,
      'downgrade to protocol version 0',
    );
    expect(await metricValue(mixed, 'resound_dave_transitions_total', { kind: 'downgrade' })).toBe(1);
    await hears(a, z);
    await hears(a, b);
    const toZ = tap.delivered.get(z.userId) ?? [];
    expect(toZ.length).toBeGreaterThanOrEqual(SHORT.length);
    for (const f of toZ) expect(endsWithMarker(f)).toBe(false);
    // A DAVE client joining the downgraded call starts at protocol version 0 (no davey session yet).
    const late = await joinClient(mixed, guild, channel, { daveEncryption: true });
    clients.push(late);
    expect(protocolVersionOf(late)).toBe(0);
    await hears(late, z);
    // Z leaves: the call upgrades (op 24, and op 25 for the late client) and all three form a fresh group.
    z.destroy();
    const g2 = await waitForSharedGroup([a, b, late], 0n);
    expect(g2.code).not.toBe(g1.code);
    await hears(b, a);
    await hears(late, a);
  });
});

async function metricWait(
  gw: VoiceGateway,
  name: string,
  labels: Record<string, string>,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await metricValue(gw, name, labels)) < 1) {
    if (Date.now() > end) throw new Error(`metric ${name} ${JSON.stringify(labels)} never rose`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
