import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTls } from '../../common/tls.ts';
import { loadMediaProxyConfig } from '../../media-proxy/index.ts';
import { loadSignalingConfig, plainListenerPort } from '../../signaling/index.ts';
import sharp from 'sharp';
import { makeProxy, tempDir } from '../media-proxy/helpers.ts';

const dirs: string[] = [];
const scratch = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-transport-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Does a client trusting only `ca` accept a server presenting `cert`/`key` for 127.0.0.1? */
async function handshake(ca: string, cert: string, key: string): Promise<'ok' | string> {
  const server = https.createServer({ cert, key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca, servername: undefined }, () => {
        resolve('ok');
        s.end();
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

describe('development certificate is a leaf, not a CA', () => {
  it('has CA:FALSE and no certificate-signing usage, and clients trusting it reach the server', async () => {
    const t = await loadTls({ dataDir: scratch() });
    const x = new X509Certificate(t.cert);
    expect(x.ca).toBe(false);
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(await handshake(t.cert, t.cert, t.key)).toBe('ok');
  });

  it('a certificate signed with its key is not trusted by clients that trust it', async () => {
    const t = await loadTls({ dataDir: scratch() });
    const forged = await generate([{ name: 'commonName', value: 'evil' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ca: { key: t.key, cert: t.cert },
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    expect(await handshake(t.cert, forged.cert, forged.private)).not.toBe('ok');
  });

  it('an old CA development certificate is replaced on load', async () => {
    const dir = scratch();
    const old = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true }],
    });
    fs.mkdirSync(path.join(dir, 'tls'));
    fs.writeFileSync(path.join(dir, 'tls', 'dev-cert.pem'), old.cert);
    fs.writeFileSync(path.join(dir, 'tls', 'dev-key.pem'), old.private);
    expect(new X509Certificate(old.cert).ca).toBe(true);
    const t = await loadTls({ dataDir: dir });
    expect(new X509Certificate(t.cert).ca).toBe(false);
  });
});

describe('plain listeners and open uploads only on loopback', () => {
  it('the plain ws:// listener is off by default beyond loopback and on (8080) on loopback', () => {
    const unset = loadSignalingConfig({});
    expect(plainListenerPort(unset, '0.0.0.0')).toBe(-1);
    expect(plainListenerPort(unset, '10.1.2.3')).toBe(-1);
    expect(plainListenerPort(unset, '127.0.0.1')).toBe(8080);
    expect(plainListenerPort(loadSignalingConfig({ SIGNALING_WS_PORT: '9000' }), '0.0.0.0')).toBe(9000);
  });

  it('beyond loopback an upload token is generated when none is set; on loopback uploads stay open', () => {
    const dir = tempDir('upload-token');
    const wide = loadMediaProxyConfig({ MEDIA_PROXY_SIGNING_SECRET: 'x'.repeat(20) }, dir, '0.0.0.0');
    expect(wide.uploadToken?.length).toBeGreaterThanOrEqual(40);
    expect(fs.readFileSync(path.join(dir, 'secrets', 'media-proxy-upload-token'), 'utf8')).toBe(wide.uploadToken);
    expect(loadMediaProxyConfig({ MEDIA_PROXY_SIGNING_SECRET: 'x'.repeat(20) }, dir, '127.0.0.1').uploadToken).toBe(
      undefined,
    );
  });

  it('uploads without the token, or with a wrong one of the same length, are refused; the token is accepted', async () => {
    const token = 'upload-token-0123456789';
    const p = await makeProxy({ MEDIA_PROXY_UPLOAD_TOKEN: token });
    try {
      const base = await p.app.listen({ host: '127.0.0.1', port: 0 });
      const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#3a6' } })
        .png()
        .toBuffer();
      const send = (auth?: string) => {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(png)]), 'e.png');
        return fetch(`${base}/emojis`, { method: 'POST', body: form, headers: auth ? { authorization: auth } : {} });
      };
      expect((await send()).status).toBe(404);
      expect((await send(`Bearer ${'x'.repeat(token.length)}`)).status).toBe(404);
      expect((await send(`Bearer ${token}`)).status).toBe(200);
    } finally {
      await p.close();
    }
  });
});
