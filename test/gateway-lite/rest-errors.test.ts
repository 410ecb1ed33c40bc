import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedPlatform } from '../../gateway-lite/index.ts';
import { metric, startTestNode, type TestNode } from './rest-helpers.ts';

/** Bad input gets Discord's error JSON and status, is counted by code, writes nothing, and others keep being served. */
let t: TestNode;
let foreignChannel: string;

beforeAll(async () => {
  t = await startTestNode({ GATEWAY_LITE_MAX_JSON_BYTES: '4096', GATEWAY_LITE_RL_MESSAGE_POST: '1000/1000' });
  // A guild our bot is not in (another bot owns it).
  foreignChannel = (await seedPlatform(t.node.storage, { guildName: 'elsewhere' })).textChannelId;
});
afterAll(async () => {
  await t.close();
});

const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${t.api}/v10${path}`, {
    method,
    body,
    headers: {
      authorization: `Bot ${t.seed.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as { code: number; message: string; errors?: Record<string, unknown> }) : null,
  };
};

const historySize = async () => (await t.node.storage.history(t.seed.textChannelId, { limit: 100 })).length;

describe('bad input → Discord-shaped errors', () => {
  const ch = () => t.seed.textChannelId;
  const cases: Array<
    [
      string,
      () => [string, string, string?, Record<string, string>?],
      number,
      number,
      (e: Record<string, unknown>) => void,
    ]
  > = [
    ['malformed JSON', () => ['POST', `/channels/${ch()}/messages`, '{"content":'], 400, 50109, () => {}],
    [
      'wrong type',
      () => ['POST', `/channels/${ch()}/messages`, '{"content":5}'],
      400,
      50035,
      (e) => expect(e).toMatchObject({ content: { _errors: [{ code: 'STRING_TYPE_CONVERT' }] } }),
    ],
    [
      'content over 2000',
      () => ['POST', `/channels/${ch()}/messages`, JSON.stringify({ content: 'x'.repeat(2001) })],
      400,
      50035,
      (e) => expect(e).toMatchObject({ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } }),
    ],
    ['empty message', () => ['POST', `/channels/${ch()}/messages`, '{}'], 400, 50006, () => {}],
    [
      'oversized body',
      () => [
        'POST',
        `/channels/${ch()}/messages`,
        JSON.stringify({ content: 'y', embeds: [{ description: 'z'.repeat(5000) }] }),
      ],
      413,
      40005,
      () => {},
    ],
    [
      'unknown channel',
      () => ['POST', `/channels/1100000000000000001/messages`, '{"content":"x"}'],
      404,
      10003,
      () => {},
    ],
    [
      'unknown message (edit)',
      () => ['PATCH', `/channels/${ch()}/messages/1100000000000000001`, '{"content":"x"}'],
      404,
      10008,
      () => {},
    ],
    [
      'unknown message (delete)',
      () => ['DELETE', `/channels/${ch()}/messages/1100000000000000001`],
      404,
      10008,
      () => {},
    ],
    [
      'foreign guild channel',
      () => ['POST', `/channels/${foreignChannel}/messages`, '{"content":"x"}'],
      403,
      50001,
      () => {},
    ],
    [
      'bad snowflake',
      () => ['POST', `/channels/general/messages`, '{"content":"x"}'],
      400,
      50035,
      (e) => expect(e).toMatchObject({ channel_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE' }] } }),
    ],
    [
      'limit 0',
      () => ['GET', `/channels/${ch()}/messages?limit=0`],
      400,
      50035,
      (e) => expect(e).toMatchObject({ limit: { _errors: [{ code: 'NUMBER_TYPE_MIN' }] } }),
    ],
    [
      'limit 101',
      () => ['GET', `/channels/${ch()}/messages?limit=101`],
      400,
      50035,
      (e) => expect(e).toMatchObject({ limit: { _errors: [{ code: 'NUMBER_TYPE_MAX' }] } }),
    ],
    [
      'limit -1',
      () => ['GET', `/channels/${ch()}/messages?limit=-1`],
      400,
      50035,
      (e) => expect(e).toMatchObject({ limit: { _errors: [{ code: 'NUMBER_TYPE_MIN' }] } }),
    ],
    [
      'limit "x"',
      () => ['GET', `/channels/${ch()}/messages?limit=x`],
      400,
      50035,
      (e) => expect(e).toMatchObject({ limit: { _errors: [{ code: 'NUMBER_TYPE_COERCE' }] } }),
    ],
    [
      'before and after',
      () => ['GET', `/channels/${ch()}/messages?before=1100000000000000002&after=1100000000000000001`],
      400,
      50035,
      (e) => expect(e).toHaveProperty('_errors'),
    ],
    [
      'bad snowflake in query',
      () => ['GET', `/channels/${ch()}/messages?before=yesterday`],
      400,
      50035,
      (e) => expect(e).toMatchObject({ before: { _errors: [{ code: 'NUMBER_TYPE_COERCE' }] } }),
    ],
    ['no token', () => ['GET', `/users/@me`, undefined, { authorization: '' }], 401, 40001, () => {}],
    [
      'wrong token',
      () => ['GET', `/users/@me`, undefined, { authorization: 'Bot MTIz.abc.defghijklmnop' }],
      401,
      40001,
      () => {},
    ],
    ['unknown route', () => ['GET', `/nope`], 404, 0, () => {}],
  ];

  for (const [name, req, status, code, check] of cases) {
    it(`${name} → ${status} / ${code}, counted, nothing written`, async () => {
      const before = await historySize();
      const counted = await metric(t.node, 'resound_gateway_lite_rejected_total', {
        code: String(code),
        status: String(status),
      });
      const [method, path, body, headers] = req();
      const res = await call(method, path, body, headers);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, message: expect.any(String) });
      if (code === 50035) check(res.body!.errors as Record<string, unknown>);
      expect(
        await metric(t.node, 'resound_gateway_lite_rejected_total', { code: String(code), status: String(status) }),
      ).toBe(counted + 1);
      expect(await historySize()).toBe(before);
      // Everyone else keeps being served.
      expect((await call('POST', `/channels/${ch()}/messages`, '{"content":"still here"}')).status).toBe(200);
    });
  }
});

describe('limits and outages', () => {
  it('an IP past the invalid-request limit is banned with scope shared, even with a good token', async () => {
    const n = await startTestNode({ GATEWAY_LITE_RL_INVALID_MAX: '5' });
    try {
      const bad = () => fetch(`${n.api}/v10/users/@me`, { headers: { authorization: 'Bot not-a-real-token' } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await bad()).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401]);
      // The fifth 401 is counted after its answer; wait for the count to land rather than sleeping.
      let res: Response;
      do res = await fetch(`${n.api}/v10/users/@me`, { headers: { authorization: `Bot ${n.seed.token}` } });
      while (res.status === 200);
      expect(res.status).toBe(429);
      expect(res.headers.get('x-ratelimit-scope')).toBe('shared');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(
        await metric(n.node, 'resound_gateway_lite_rate_limited_total', { scope: 'shared' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await n.close();
    }
  });

  it('storage down → 503 with code 130000, and nothing is claimed written', async () => {
    const n = await startTestNode();
    try {
      const ok = await fetch(`${n.api}/v10/channels/${n.seed.textChannelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${n.seed.token}`, 'content-type': 'application/json' },
        body: '{"content":"before the outage"}',
      });
      expect(ok.status).toBe(200);
      await n.node.storage.close();
      const res = await fetch(`${n.api}/v10/channels/${n.seed.textChannelId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bot ${n.seed.token}`, 'content-type': 'application/json' },
        body: '{"content":"during the outage"}',
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 130000, message: expect.stringMatching(/storage/i) });
      expect(await metric(n.node, 'resound_gateway_lite_rejected_total', { code: '130000', status: '503' })).toBe(1);
    } finally {
      await n.close();
    }
  });
});

describe('operators’ listener', () => {
  it('/metrics answers only on the internal listener, with the REST and storage series', async () => {
    const n = await startTestNode();
    try {
      expect((await fetch(`${n.node.url}/metrics`)).status).toBe(404);
      const res = await fetch(`${n.node.internalUrl}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/resound_gateway_lite_/);
      expect(text).toMatch(/resound_gl_storage_reads_total/);
      expect((await fetch(`${n.node.internalUrl}/healthz`)).status).toBe(200);
    } finally {
      await n.close();
    }
  });
});
