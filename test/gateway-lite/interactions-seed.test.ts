import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../gateway-lite/storage/index.ts';
import { json, startHttpApp, type HttpApp } from './interactions-helpers.ts';

/** `resound seed --interactions-endpoint-url URL`: the key is printed first, the URL saved only once it verifies. */
const root = path.resolve(import.meta.dirname, '..', '..');
const dataDir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'gl-ix-seed-'));
const apps: HttpApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});

function seed(url: string, onKey: (key: string) => void | Promise<void>) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      path.join(root, 'bin', 'resound.ts'),
      'seed',
      '--interactions-endpoint-url',
      url,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        RESOUND_DATA_DIR: dataDir,
        GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    out += `${line}\n`;
    const key = /verify_key ([0-9a-f]{64})/.exec(line)?.[1];
    if (key && !out.includes('seen-key')) {
      out += 'seen-key\n';
      void onKey(key);
    }
  });
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, out, err })),
  );
}

/** A free loopback port nothing listens on yet. */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('resound seed --interactions-endpoint-url', () => {
  it('prints the verify_key, waits for the endpoint started with it, and saves the URL', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/interactions`;
    const r = await seed(url, async (key) => {
      // The endpoint starts only now, with the key the seed printed (the seed retries while nothing answers).
      const app = await startHttpApp(key, (_i, res) => json(res, { type: 4, data: { content: 'hi' } }), port);
      apps.push(app);
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`endpoint url +${url}`));
    const storage = await openStorage({ kind: 'sqlite', dataDir: path.join(dataDir, 'gateway-lite') });
    const appId = /application +(\d+)/.exec(r.out)![1];
    expect((await storage.apps.getApplication(appId))?.interactionsEndpointUrl).toBe(url);
    await storage.close();
    expect(apps[0].refused).toBe(1); // the bad-signature probe
  });

  it('exits non-zero with the reason when the endpoint answers without verifying', async () => {
    const lax = http.createServer((_req, res) => json(res, { type: 1 }));
    await new Promise<void>((r) => lax.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(lax.address() as AddressInfo).port}/`;
    const r = await seed(url, () => undefined);
    lax.close();
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/refused: a request with an invalid signature was answered with HTTP 200, not 401/);
  });
});
