import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VoiceGateway } from '../../signaling/index.ts';
import { writeIpDiscoveryRequest, writeRtpHeader } from '../../sfu/index.ts';
import {
  type VoiceClient,
  counterValue,
  fixtureOpusFrames,
  hex,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
} from '../../testkit/index.ts';

const dropped = (gw: VoiceGateway, reason: string) => counterValue(gw, 'resound_sfu_dropped_total', { reason });

describe('hostile UDP input is dropped and counted; the channel keeps flowing', () => {
  let gw: VoiceGateway;
  let a: VoiceClient;
  let b: VoiceClient;
  const attacker = dgram.createSocket('udp4');
  const heardByB: Buffer[] = [];
  const { frames } = fixtureOpusFrames();
  const send = (buf: Buffer, from = attacker) =>
    new Promise<void>((r) => from.send(buf, gw.sfu!.port, '127.0.0.1', () => r()));
  const keepalives = async () => {
    const m = await gw.registry.getSingleMetric('resound_sfu_datagrams_in_total')!.get();
    return m.values.find((v) => v.labels.kind === 'keepalive')?.value ?? 0;
  };
  /**
   * Every datagram sent so far has been handled: each `send` resolved once the kernel queued it on the SFU's one
   * socket, so when a keepalive sent after them is counted, everything queued before it was handled too.
   */
  const settle = async () => {
    const before = await keepalives();
    await send(Buffer.alloc(8));
    let now = before;
    await waitFor(
      () => now > before,
      10_000,
      'a barrier keepalive',
      async () => void (now = await keepalives()),
    );
  };
  /** Waits (load-tolerant) until `n` more drops of `reason` were counted, then checks no more than `n` were. */
  const expectDrops = async (reason: string, before: number, n: number) => {
    let now = before;
    await waitFor(
      () => now - before >= n,
      10_000,
      `${n} ${reason} drops`,
      async () => {
        now = await dropped(gw, reason);
      },
    );
    await settle();
    expect((await dropped(gw, reason)) - before).toBe(n);
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    const guild = newId();
    const channel = newId();
    a = await rawClient(gw, guild, channel, { mode: 'aead_aes256_gcm_rtpsize' });
    b = await rawClient(gw, guild, channel, { mode: 'aead_xchacha20_poly1305_rtpsize' });
    b.on('frame', (f) => heardByB.push(f.payload));
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', r));
    a.setSpeaking(1);
    a.sendOpus(frames[0]);
    await waitFor(() => heardByB.length === 1, 3000, 'a first frame to reach B');
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    attacker.close();
    await gw?.close();
  });

  it('random non-RTP datagrams of every length are dropped as malformed', async () => {
    const before = await dropped(gw, 'malformed');
    let sent = 0;
    for (let len = 0; len < 300; len++) {
      if (len === 8 || len === 74) continue;
      const junk = randomBytes(len);
      if (len > 0) junk[0] = 0x3f & junk[0]; // version 0: never RTP
      await send(junk);
      sent++;
    }
    await expectDrops('malformed', before, sent);
  });

  it('truncated copies of a valid packet fail authentication', async () => {
    const before = await dropped(gw, 'decrypt_failed');
    const pkt = a.buildPacket(frames[1], a.sequence + 1, a.timestamp + 960, 1000);
    for (const cut of [13, 20, 30, pkt.length - 5, pkt.length - 1]) await send(pkt.subarray(0, cut), a.udp);
    await expectDrops('decrypt_failed', before, 5);
  });

  it('a flipped auth tag is dropped as decrypt_failed and counted on the stream', async () => {
    const before = await dropped(gw, 'decrypt_failed');
    const pkt = a.buildPacket(frames[1], a.sequence + 1, a.timestamp + 960, 2000);
    pkt[pkt.length - 6] ^= 0x01;
    await send(pkt, a.udp);
    await expectDrops('decrypt_failed', before, 1);
  });

  it('a replayed packet is dropped as replay', async () => {
    const heard = heardByB.length;
    const before = await dropped(gw, 'replay');
    const nonce = a.nonce + 1;
    a.nonce = nonce;
    const pkt = a.buildPacket(
      frames[2],
      (a.sequence = (a.sequence + 1) & 0xffff),
      (a.timestamp = (a.timestamp + 960) >>> 0),
      nonce,
    );
    await send(pkt, a.udp);
    await send(pkt, a.udp);
    await send(pkt, a.udp);
    await expectDrops('replay', before, 2);
    await waitFor(() => heardByB.length >= heard + 1, 5000, 'the original to be forwarded');
    expect(heardByB.length).toBe(heard + 1);
  });

  it('RTP from an unknown SSRC and IP discovery for one are dropped as unknown_ssrc', async () => {
    const before = await dropped(gw, 'unknown_ssrc');
    const rtp = Buffer.alloc(40);
    writeRtpHeader(rtp, 120, false, 1, 960, 0x1234abcd);
    await send(rtp);
    const disc = Buffer.alloc(74);
    writeIpDiscoveryRequest(disc, 0x1234abcd);
    await send(disc);
    await expectDrops('unknown_ssrc', before, 2);
  });

  it("another user's SSRC from a stranger's address drops as ssrc_spoof, even sealed with its own key", async () => {
    const before = await dropped(gw, 'ssrc_spoof');
    const forged = Buffer.alloc(60);
    writeRtpHeader(forged, 120, false, 7, 7 * 960, a.ssrc);
    await send(forged);
    // A legitimate participant (B) seals a packet with its own key but A's SSRC.
    await send(b.buildPacket(frames[3], 9, 9 * 960, 5, a.ssrc), b.udp);
    await expectDrops('ssrc_spoof', before, 2);
  });

  it('a non-Opus payload type is dropped as not_opus; keepalives are only counted', async () => {
    const before = await dropped(gw, 'not_opus');
    const rtcp = Buffer.alloc(32);
    writeRtpHeader(rtcp, 72, false, 1, 1, a.ssrc);
    await send(rtcp, a.udp);
    await send(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), a.udp);
    await expectDrops('not_opus', before, 1);
    const kinds = await gw.registry.getSingleMetric('resound_sfu_datagrams_in_total')!.get();
    expect(kinds.values.find((v) => v.labels.kind === 'keepalive')?.value).toBeGreaterThanOrEqual(1);
  });

  it('after the barrage, A is still heard by B frame for frame', async () => {
    const start = heardByB.length;
    for (const f of frames.slice(0, 10)) a.sendOpus(f);
    await waitFor(() => heardByB.length >= start + 10, 3000, 'frames after the attack');
    expect(hex(heardByB.slice(start))).toEqual(hex(frames.slice(0, 10)));
  });
});

describe('a sender flooding past SFU_MAX_PPS', () => {
  it('is policed after authentication: excess drops as rate_limited, every packet forwarded or counted', async () => {
    const gw = await startTestGateway({ SFU_MAX_PPS: '10' });
    const guild = newId();
    const channel = newId();
    const a = await rawClient(gw, guild, channel);
    const b = await rawClient(gw, guild, channel);
    try {
      const heard: Buffer[] = [];
      b.on('frame', (f) => heard.push(f.payload));
      await waitFor(() => b.ssrcs.size === 1, 3000, 'B to learn A');
      const { frames } = fixtureOpusFrames();
      a.setSpeaking(1);
      for (let i = 0; i < 200; i++) a.sendOpus(frames[i % frames.length]);
      // Every packet is either forwarded or counted; how many fit depends only on how long the server took to read
      // them (10 per second of processing plus a burst of 10), so the split is asserted loosely.
      let limited = 0;
      await waitFor(
        () => heard.length + limited >= 200,
        10_000,
        'all 200 packets accounted for',
        async () => {
          limited = await counterValue(gw, 'resound_sfu_dropped_total', { reason: 'rate_limited' });
        },
      );
      expect(heard.length + limited).toBe(200);
      expect(limited).toBeGreaterThan(0);
      expect(heard.length).toBeGreaterThanOrEqual(10);
    } finally {
      a.close();
      b.close();
      await gw.close();
    }
  });
});
