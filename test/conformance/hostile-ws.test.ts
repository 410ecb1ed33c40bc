import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Close, Op, type VoiceGateway } from '../../signaling/index.ts';
import {
  collectFrames,
  counterValue,
  hex,
  fixtureOpusFrames,
  joinClient,
  newId,
  play,
  rawClient,
  startTestGateway,
  type TestClient,
} from '../../testkit/index.ts';

/** Opens a raw ws:// connection and resolves with the close code after `act` runs. */
async function closeCodeAfter(
  url: string,
  act: (ws: WebSocket) => void | Promise<void>,
  timeoutMs = 5000,
): Promise<number> {
  const ws = new WebSocket(url);
  const closed = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket was not closed')), timeoutMs);
    ws.on('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    ws.on('error', () => {});
  });
  await new Promise((r) => ws.once('open', r));
  await act(ws);
  return closed;
}

const identify = (gw: VoiceGateway, guild: string, channel: string, user = newId()) => {
  const g = gw.server.grantJoin(guild, channel, user);
  return {
    op: Op.Identify,
    d: { server_id: guild, user_id: user, session_id: g.session_id, token: g.token, max_dave_protocol_version: 0 },
  };
};

const rejectedCount = (gw: VoiceGateway, reason: string) =>
  counterValue(gw, 'resound_signaling_rejected_total', { reason });

describe('hostile WebSocket input gets the matching voice close code; others keep being served', () => {
  let gw: VoiceGateway;
  let a: TestClient;
  let b: TestClient;
  const guild = newId();
  const channel = newId();
  beforeAll(async () => {
    gw = await startTestGateway({
      SIGNALING_RATE_BURST: '30',
      SIGNALING_RATE_PER_S: '5',
      SIGNALING_MAX_FRAME_BYTES: '4096',
    });
    a = await joinClient(gw, guild, channel);
    b = await joinClient(gw, guild, channel);
  });
  afterAll(async () => {
    a?.destroy();
    b?.destroy();
    await gw?.close();
  });

  const cases: Array<[string, number, string, (gw: VoiceGateway, ws: WebSocket) => void]> = [
    ['bad JSON', Close.DecodeError, 'bad_json', (_g, ws) => ws.send('{"op":0,')],
    ['an envelope without op', Close.DecodeError, 'bad_envelope', (_g, ws) => ws.send('{"d":{}}')],
    ['an unknown opcode', Close.UnknownOpcode, 'unknown_op', (_g, ws) => ws.send(JSON.stringify({ op: 99, d: {} }))],
    [
      'Select Protocol before Identify',
      Close.NotAuthenticated,
      'not_authenticated',
      (_g, ws) => ws.send(JSON.stringify({ op: Op.SelectProtocol, d: {} })),
    ],
    [
      'a binary frame before Identify',
      Close.NotAuthenticated,
      'not_authenticated',
      (_g, ws) => ws.send(Buffer.from([26, 1, 2, 3])),
    ],
    [
      'a forged token',
      Close.AuthenticationFailed,
      'token_bad_signature',
      (g, ws) => {
        const m = identify(g, guild, channel);
        ws.send(JSON.stringify({ ...m, d: { ...m.d, token: m.d.token.slice(0, -4) + 'AAAA' } }));
      },
    ],
    [
      'a token for another user',
      Close.AuthenticationFailed,
      'token_mismatch',
      (g, ws) => {
        const m = identify(g, guild, channel);
        ws.send(JSON.stringify({ ...m, d: { ...m.d, user_id: newId() } }));
      },
    ],
    [
      'Identify twice',
      Close.AlreadyAuthenticated,
      'already_authenticated',
      (g, ws) => {
        ws.send(JSON.stringify(identify(g, newId(), channel)));
        ws.send(JSON.stringify(identify(g, newId(), channel)));
      },
    ],
    [
      'an Identify missing fields',
      Close.DecodeError,
      'bad_identify',
      (_g, ws) => ws.send(JSON.stringify({ op: Op.Identify, d: { server_id: '1' } })),
    ],
    [
      'an oversized frame',
      Close.DecodeError,
      'oversized',
      (_g, ws) => ws.send(JSON.stringify({ op: Op.Heartbeat, d: { t: 1, pad: 'x'.repeat(8000) } })),
    ],
    [
      'a flood',
      Close.RateLimited,
      'rate_limited',
      (_g, ws) => {
        for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ op: Op.Heartbeat, d: { t: i, seq_ack: -1 } }));
      },
    ],
    [
      'a Resume of an unknown session',
      Close.SessionNoLongerValid,
      'resume_unknown',
      (_g, ws) =>
        ws.send(
          JSON.stringify({ op: Op.Resume, d: { server_id: guild, session_id: 'nope', token: 'x.y', seq_ack: 3 } }),
        ),
    ],
    [
      'an unknown protocol',
      Close.UnknownProtocol,
      'unknown_protocol',
      (g, ws) => {
        ws.send(JSON.stringify(identify(g, newId(), newId())));
        ws.send(
          JSON.stringify({
            op: Op.SelectProtocol,
            d: { protocol: 'quic', data: { address: '127.0.0.1', port: 1, mode: 'aead_aes256_gcm_rtpsize' } },
          }),
        );
      },
    ],
    [
      'an unknown encryption mode',
      Close.UnknownEncryptionMode,
      'unknown_mode',
      (g, ws) => {
        ws.send(JSON.stringify(identify(g, newId(), newId())));
        ws.send(
          JSON.stringify({
            op: Op.SelectProtocol,
            d: { protocol: 'udp', data: { address: '127.0.0.1', port: 1, mode: 'plain' } },
          }),
        );
      },
    ],
    [
      'Speaking with another SSRC',
      Close.BadRequest,
      'foreign_ssrc',
      (g, ws) => {
        ws.send(JSON.stringify(identify(g, newId(), newId())));
        ws.send(JSON.stringify({ op: Op.Speaking, d: { speaking: 1, delay: 0, ssrc: 1 } }));
      },
    ],
  ];

  for (const [what, code, reason, act] of cases) {
    it(`${what} → ${code}`, async () => {
      const before = await rejectedCount(gw, reason);
      expect(await closeCodeAfter(gw.wsUrl!, (ws) => act(gw, ws))).toBe(code);
      expect(await rejectedCount(gw, reason)).toBe(before + 1);
    });
  }

  it('an unsupported gateway version → 4020', async () => {
    const code = await closeCodeAfter(gw.wsUrl!.replace('v=8', 'v=2'), () => {});
    expect(code).toBe(Close.BadRequest);
  });

  it('DAVE ops on a session without DAVE → 4020', async () => {
    const c = await rawClient(gw, newId(), newId());
    const closed = new Promise<number>((r) => c.ws.on('close', (code) => r(code)));
    c.ws.send(Buffer.from([Op.DaveMlsKeyPackage, 0, 1, 2]));
    expect(await closed).toBe(Close.BadRequest);
    c.close();
  });

  it('a silent client is timed out with 4009', async () => {
    const slow = await startTestGateway({ SIGNALING_HEARTBEAT_INTERVAL_MS: '100' });
    try {
      expect(await closeCodeAfter(slow.wsUrl!, (ws) => ws.send(JSON.stringify(identify(slow, newId(), newId()))))).toBe(
        Close.SessionTimeout,
      );
    } finally {
      await slow.close();
    }
  });

  it('after all of that, the real clients still hear each other', async () => {
    const { frames } = fixtureOpusFrames();
    const part = frames.slice(0, 6);
    const got = collectFrames(b, a.userId, part.length);
    await play(a, part);
    expect(hex(await got)).toEqual(hex(part));
  });
});
