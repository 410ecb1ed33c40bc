import { randomBytes } from 'node:crypto';
import { Routes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootLogger } from '../../common/logger.ts';
import { loadGatewayLiteConfig, startGatewayLite, type GatewayLite } from '../../gateway-lite/index.ts';
import { REDIS_URL, type TestNode } from './rest-helpers.ts';
import { BusTap, PING_COMMAND, botRest, invokeCommand, startInteractionsNode } from './interactions-helpers.ts';

/**
 * Two API nodes sharing Redis and storage: a node answers a callback for an interaction it invoked from memory, and
 * one invoked elsewhere from Redis — the acknowledgement stays single across both, and the `@original` reference
 * written with it is seen by either node.
 */
let a: TestNode;
let b: GatewayLite;
let tap: BusTap;
let commandId: string;
const env = {
  GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32',
  GATEWAY_LITE_REDIS_PREFIX: `resound:test:ix-nodes:${randomBytes(4).toString('hex')}:`,
};

interface Delivered {
  id: string;
  token: string;
}
const callback = (api: string, i: Delivered, body: unknown, token = i.token) =>
  fetch(`${api}/v10/interactions/${i.id}/${token}/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const codeOf = async (r: Response) => ((await r.json()) as { code: number }).code;

beforeAll(async () => {
  a = await startInteractionsNode(env);
  const config = loadGatewayLiteConfig(
    { GATEWAY_LITE_PORT: '0', GATEWAY_LITE_INTERNAL_PORT: '0', GATEWAY_LITE_SQLITE_SYNC: 'normal', ...env },
    // Storage is node A's (passed below); the data dir is only what the config loader requires.
    { RESOUND_DATA_DIR: process.env.RESOUND_TEST_DATA_DIR!, RESOUND_BIND: '127.0.0.1' },
  );
  b = await startGatewayLite({ config, redisUrl: REDIS_URL, logger: rootLogger('error'), storage: a.node.storage });
  tap = new BusTap(a);
  const cmds = (await botRest(a).put(Routes.applicationGuildCommands(a.seed.applicationId, a.seed.guildId), {
    body: [PING_COMMAND],
  })) as Array<{ id: string }>;
  commandId = cmds[0].id;
});
afterAll(async () => {
  tap?.close();
  await b?.close();
  await a?.close();
});

async function delivered(): Promise<{ i: Delivered; outcome: ReturnType<typeof invokeCommand> }> {
  const before = new Set(tap.events.filter((e) => e.t === 'INTERACTION_CREATE').map((e) => (e.d as Delivered).id));
  const outcome = invokeCommand(a, commandId, [{ name: 'word', type: 3, value: 'hi' }]);
  const ev = await tap.next((e) => e.t === 'INTERACTION_CREATE' && !before.has((e.d as Delivered).id));
  return { i: ev.d as Delivered, outcome };
}

describe('interactions across two nodes', () => {
  it('a callback on the other node acknowledges once; the invoking node then refuses a second one (40060)', async () => {
    const { i, outcome } = await delivered();
    const first = await callback(`${b.url}/api`, i, { type: 4, data: { content: 'from b' } });
    expect(first.status).toBe(204);
    // Node A still holds the interaction in memory: its answer must come from the shared acknowledgement.
    const second = await callback(a.api, i, { type: 4, data: { content: 'from a' } });
    expect(second.status).toBe(400);
    expect(await codeOf(second)).toBe(40060);
    const original = await fetch(`${a.api}/v10/webhooks/${a.seed.applicationId}/${i.token}/messages/@original`);
    expect(original.status).toBe(200);
    expect(((await original.json()) as { content: string }).content).toBe('from b');
    expect((await outcome).body?.outcome).toBe('acknowledged');
  });

  it('the invoking node answers from memory, and the other node then refuses (40060) and reads @original', async () => {
    const { i, outcome } = await delivered();
    const wrong = await callback(a.api, i, { type: 4, data: { content: 'x' } }, i.token.slice(0, -2) + 'AA');
    expect(wrong.status).toBe(404);
    expect(await codeOf(wrong)).toBe(10062);
    expect((await callback(a.api, i, { type: 4, data: { content: 'from a' } })).status).toBe(204);
    expect((await outcome).body?.outcome).toBe('acknowledged');
    const again = await callback(`${b.url}/api`, i, { type: 4, data: { content: 'from b' } });
    expect(await codeOf(again)).toBe(40060);
    const original = await fetch(`${b.url}/api/v10/webhooks/${a.seed.applicationId}/${i.token}/messages/@original`);
    expect(((await original.json()) as { content: string }).content).toBe('from a');
  });
});
