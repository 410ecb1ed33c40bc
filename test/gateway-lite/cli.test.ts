import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REST } from '@discordjs/rest';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/redis.ts';
import { REDIS_URL } from './rest-helpers.ts';

/** The newcomer's path: `resound seed` prints a token, `resound start platform` serves it, a real client uses it. */
const root = path.resolve(import.meta.dirname, '..', '..');
const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-cli-'));
const prefix = `resound:test:gl-cli:${randomBytes(4).toString('hex')}:`;
const env = {
  ...process.env,
  RESOUND_DATA_DIR: dataDir,
  GATEWAY_LITE_PORT: '0',
  GATEWAY_LITE_INTERNAL_PORT: '0',
  GATEWAY_LITE_REDIS_PREFIX: prefix,
  REDIS_URL,
  LOG_LEVEL: 'info',
};
const children: ChildProcess[] = [];

const resound = (args: string[]) =>
  spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(root, 'bin', 'resound.ts'), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  const r = createRedis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

describe('resound seed + resound start platform', () => {
  it('seeds a guild and bot, starts the part, logs its listening line, and the bot token works', async () => {
    const seed = resound(['seed']);
    children.push(seed);
    let out = '';
    seed.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => seed.once('exit', r));
    expect(code).toBe(0);
    const token = /^bot token +(\S+)$/m.exec(out)?.[1];
    const channel = /^text channel +(\d+)/m.exec(out)?.[1];
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(channel).toMatch(/^\d{17,20}$/);

    const server = resound(['start', 'platform']);
    children.push(server);
    let url: string | undefined;
    for await (const line of createInterface({ input: server.stdout! })) {
      const rec = JSON.parse(line) as { msg?: string; part?: string; url?: string };
      if (rec.msg === 'listening' && rec.part === 'gateway-lite') {
        url = rec.url;
        break;
      }
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const rest = new REST({ api: `${url}/api`, version: '10' }).setToken(token!);
    const msg = (await rest.post(`/channels/${channel}/messages`, { body: { content: 'from the CLI test' } })) as {
      content: string;
    };
    expect(msg.content).toBe('from the CLI test');
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true, part: 'gateway-lite', storage: 'sqlite' });
    server.kill('SIGTERM');
    expect(await new Promise((r) => server.once('exit', r))).toBe(0);
  });
});
