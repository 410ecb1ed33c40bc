/**
 * UDP reflection and legacy modes (security review, issue 18 items 3–4): nobody can make the SFU send a channel's
 * media — or IP discovery answers — to a third party; retired modes are off unless asked for; and in every mode a
 * replayed captured packet is refused instead of moving the sender's address.
 */
import dgram, { type Socket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { VoiceGateway } from '../../signaling/index.ts';
import { writeIpDiscoveryRequest, type TransportMode, type UdpTransport } from '../../sfu/index.ts';
import {
  counterValue,
  fixtureOpusFrames,
  newId,
  rawClient,
  startTestGateway,
  waitFor,
  type VoiceClient,
} from '../../testkit/index.ts';

const { frames } = fixtureOpusFrames();

async function udpSocket(address: string): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, address, r));
  return { socket, received };
}

const send = (gw: VoiceGateway, buf: Buffer, from: Socket) =>
  new Promise<void>((r) => from.send(buf, gw.sfu!.port, '127.0.0.1', () => r()));

/** Waits until the drop counter for `reason` moved by `n` from `before`. */
async function dropsOf(gw: VoiceGateway, reason: string, before: number, n: number): Promise<void> {
  let now = before;
  await waitFor(
    () => now - before >= n,
    5000,
    `${n} ${reason} drop(s)`,
    async () => {
      now = await counterValue(gw, 'resound_sfu_dropped_total', { reason });
    },
  );
  expect(now - before).toBe(n);
}
const drops = (gw: VoiceGateway, reason: string) => counterValue(gw, 'resound_sfu_dropped_total', { reason });

/** Identify over ws:// and stop at Ready: a session with an SSRC and no UDP address yet (what the attacker holds). */
async function identifyOnly(gw: VoiceGateway, guild: string, channel: string) {
  const userId = newId();
  const grant = gw.server.grantJoin(guild, channel, userId);
  const ws = new WebSocket(gw.wsUrl!);
  const ready = new Promise<{ ssrc: number; modes: string[] }>((resolve) =>
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { op: number; d: { ssrc: number; modes: string[] } };
      if (m.op === 2) resolve(m.d);
    }),
  );
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.send(
    JSON.stringify({
      op: 0,
      d: { server_id: guild, user_id: userId, session_id: grant.session_id, token: grant.token },
    }),
  );
  const d = await ready;
  const select = (mode: string) =>
    ws.send(JSON.stringify({ op: 1, d: { protocol: 'udp', data: { address: '127.0.0.1', port: 9, mode } } }));
  return { ws, userId, ssrc: d.ssrc, modes: d.modes, select, closed };
}

/** The address the SFU sends a session's media to (an in-process gateway's UDP transport). */
function remoteOf(gw: VoiceGateway, guild: string, userId: string) {
  return (gw.server.sessionOf(guild, userId)!.transport as UdpTransport).remote;
}

describe('UDP reflection', () => {
  let gw: VoiceGateway;
  const open: Array<{ close(): void }> = [];
  beforeAll(async () => {
    gw = await startTestGateway({ VOICE_E2EE: 'off' });
  });
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a forged IP discovery from another IP cannot aim the channel media at a third party', async () => {
    const guild = newId();
    const channel = newId();
    const a = await rawClient(gw, guild, channel);
    const b = await rawClient(gw, guild, channel);
    const attacker = await identifyOnly(gw, guild, channel);
    const victim = await udpSocket('127.0.0.2');
    open.push(a, b, victim.socket, attacker.ws);

    const before = await drops(gw, 'foreign_address');
    const disc = Buffer.alloc(74);
    writeIpDiscoveryRequest(disc, attacker.ssrc);
    // The attacker's datagram arrives with the victim's source address (spoofed on the Internet, bound here).
    await send(gw, disc, victim.socket);
    await dropsOf(gw, 'foreign_address', before, 1);
    attacker.select('aead_aes256_gcm_rtpsize');
    await waitFor(() => b.ssrcs.size === 2, 5000, 'B to learn the attacker joined');

    let heard = 0;
    b.on('frame', () => heard++);
    a.setSpeaking(1);
    for (const f of frames.slice(0, 20)) a.sendOpus(f);
    await waitFor(() => heard === 20, 5000, 'B to hear all 20 frames');
    expect(victim.received).toEqual([]);
    expect(remoteOf(gw, guild, attacker.userId)).toBeNull();
  });

  it('IP discovery is answered only from the bound address once a session has one', async () => {
    const guild = newId();
    const a = await rawClient(gw, guild, newId());
    const other = await udpSocket('127.0.0.1');
    open.push(a, other.socket);
    const before = await drops(gw, 'discovery_unbound');
    const disc = Buffer.alloc(74);
    writeIpDiscoveryRequest(disc, a.ssrc);
    await send(gw, disc, other.socket);
    await send(gw, disc, other.socket);
    await dropsOf(gw, 'discovery_unbound', before, 2);
    expect(other.received).toEqual([]);
    // The session's own socket still gets its answer.
    const answers = new Promise<Buffer>((r) => a.udp.once('message', r));
    await send(gw, disc, a.udp);
    expect((await answers).readUInt16BE(0)).toBe(2);
  });

  it("an authenticated packet from another IP does not move the sender's address", async () => {
    const guild = newId();
    const a = await rawClient(gw, guild, newId());
    const elsewhere = await udpSocket('127.0.0.2');
    open.push(a, elsewhere.socket);
    const before = await drops(gw, 'foreign_address');
    a.nonce += 1;
    const pkt = a.buildPacket(frames[0], (a.sequence = (a.sequence + 1) & 0xffff), a.timestamp + 960, a.nonce);
    await send(gw, pkt, elsewhere.socket);
    await dropsOf(gw, 'foreign_address', before, 1);
    const remote = remoteOf(gw, guild, a.opts.userId);
    expect(remote).toEqual({ address: '127.0.0.1', port: a.udp.address().port });
  });
});

describe('an address that went quiet', () => {
  it('is no longer sent to; an authenticated packet from the client binds it again', async () => {
    const gw = await startTestGateway({ VOICE_E2EE: 'off', SFU_REMOTE_IDLE_MS: '1000' });
    const guild = newId();
    const channel = newId();
    const a = await rawClient(gw, guild, channel);
    const b = await rawClient(gw, guild, channel);
    const c = await rawClient(gw, guild, channel);
    // B keeps its binding the way real clients do, with 8-byte keepalives; C goes silent after joining.
    const keepalive = setInterval(() => b.udp.send(Buffer.alloc(8), gw.sfu!.port, '127.0.0.1'), 100);
    let speaking: NodeJS.Timeout | undefined;
    try {
      const heard = { b: 0, c: 0 };
      b.on('frame', () => heard.b++);
      c.on('frame', () => heard.c++);
      await waitFor(() => b.ssrcs.size === 2 && c.ssrcs.size === 2, 5000, 'SSRC announcements');
      a.setSpeaking(1);
      let i = 0;
      speaking = setInterval(() => a.sendOpus(frames[i++ % frames.length]), 20);
      const cTransport = gw.server.sessionOf(guild, c.opts.userId)!.transport as UdpTransport;
      await waitFor(() => cTransport.remote === null, 10_000, "C's quiet address to expire");
      expect(await counterValue(gw, 'resound_sfu_remotes_expired_total')).toBeGreaterThanOrEqual(1);
      expect(remoteOf(gw, guild, b.opts.userId)).not.toBeNull();

      const cBefore = heard.c;
      const bBefore = heard.b;
      await waitFor(() => heard.b >= bBefore + 25, 5000, 'B to keep hearing A');
      expect(heard.c).toBe(cBefore);

      // C speaks again: authenticated, from its own IP, so it is bound again and hears A.
      c.sendOpus(frames[0]);
      await waitFor(() => heard.c >= cBefore + 5, 5000, 'C to hear A again');
    } finally {
      clearInterval(keepalive);
      clearInterval(speaking);
      a.close();
      b.close();
      c.close();
      await gw.close();
    }
  });
});

describe('legacy XSalsa20 modes', () => {
  it('are neither offered nor accepted by default', async () => {
    const gw = await startTestGateway();
    try {
      const s = await identifyOnly(gw, newId(), newId());
      expect(s.modes.length).toBeGreaterThan(0);
      expect(s.modes.filter((m) => m.startsWith('xsalsa20'))).toEqual([]);
      s.select('xsalsa20_poly1305_lite');
      expect(await s.closed).toBe(4016);
    } finally {
      await gw.close();
    }
    await expect(startTestGateway({ SFU_MODES: 'xsalsa20_poly1305' })).rejects.toThrow(/SFU_LEGACY_MODES/);
  });

  describe('when enabled, every mode has a replay window', () => {
    let gw: VoiceGateway;
    beforeAll(async () => {
      gw = await startTestGateway({ VOICE_E2EE: 'off', SFU_LEGACY_MODES: 'true' });
    });
    afterAll(async () => {
      await gw?.close();
    });

    for (const mode of [
      'xsalsa20_poly1305',
      'xsalsa20_poly1305_suffix',
      'xsalsa20_poly1305_lite',
      'xsalsa20_poly1305_lite_rtpsize',
    ] as TransportMode[]) {
      it(`${mode}: a replayed captured packet is refused and does not move the sender's address`, async () => {
        const guild = newId();
        const channel = newId();
        const legacy: VoiceClient = await rawClient(gw, guild, channel, { mode });
        const listener = await rawClient(gw, guild, channel);
        const capturer = await udpSocket('127.0.0.1');
        try {
          expect(legacy.mode).toBe(mode);
          await waitFor(() => listener.ssrcs.size === 1, 5000, 'SSRC announcement');
          const heard: Buffer[] = [];
          listener.on('frame', (f) => heard.push(f.payload));
          legacy.setSpeaking(1);
          legacy.nonce += 1;
          legacy.sequence = (legacy.sequence + 1) & 0xffff;
          legacy.timestamp = (legacy.timestamp + 960) >>> 0;
          const captured = legacy.buildPacket(frames[1], legacy.sequence, legacy.timestamp, legacy.nonce);
          await send(gw, captured, legacy.udp);
          await waitFor(() => heard.length === 1, 5000, 'the original to be heard');

          const before = await drops(gw, 'replay');
          await send(gw, captured, legacy.udp);
          await send(gw, captured, capturer.socket);
          await dropsOf(gw, 'replay', before, 2);
          const remote = remoteOf(gw, guild, legacy.opts.userId);
          expect(remote).toEqual({ address: '127.0.0.1', port: legacy.udp.address().port });
          // The sender goes on normally afterwards.
          legacy.sendOpus(frames[2]);
          await waitFor(() => heard.length === 2, 5000, 'the next frame');
          expect(heard.map((h) => h.toString('hex'))).toEqual([frames[1], frames[2]].map((f) => f.toString('hex')));
        } finally {
          legacy.close();
          listener.close();
          capturer.socket.close();
        }
      });
    }
  });
});
