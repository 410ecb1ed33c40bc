import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSignalingConfig, startVoiceGateway } from '../../signaling/index.ts';
import { ConfigError } from '../../common/config.ts';
import { safeEqual, secretFromConfigOrDataDir } from '../../common/secrets.ts';
import { pino } from 'pino';

const dirs: string[] = [];
function dataDirWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-secrets-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'secrets'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'secrets', name), body);
  return dir;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('secrets refuse to be empty or short, from any source', () => {
  it('an empty secret file stops start-up with the variable name and the fix', () => {
    const dir = dataDirWith({ 'admin-token': '\n' });
    expect(() => secretFromConfigOrDataDir(undefined, dir, 'admin-token', 'ADMIN_TOKEN')).toThrow(ConfigError);
    expect(() => secretFromConfigOrDataDir(undefined, dir, 'admin-token', 'ADMIN_TOKEN')).toThrow(
      /ADMIN_TOKEN: .*admin-token is empty.*Delete .* or set ADMIN_TOKEN/,
    );
  });

  it('a short secret file or value is refused too', () => {
    const dir = dataDirWith({ 'voice-token-secret': 'abc123' });
    expect(() => secretFromConfigOrDataDir(undefined, dir, 'voice-token-secret', 'VOICE_TOKEN_SECRET')).toThrow(
      /VOICE_TOKEN_SECRET: .*has only 6 characters/,
    );
    expect(() => secretFromConfigOrDataDir('', dir, 'x', 'MEDIA_PROXY_SIGNING_SECRET')).toThrow(
      /MEDIA_PROXY_SIGNING_SECRET: the secret from the environment is empty/,
    );
  });

  it('a missing file gets a strong generated secret, the same one on every later start', () => {
    const dir = dataDirWith({});
    const a = secretFromConfigOrDataDir(undefined, dir, 'admin-token', 'ADMIN_TOKEN');
    expect(a.length).toBeGreaterThanOrEqual(40);
    expect(secretFromConfigOrDataDir(undefined, dir, 'admin-token', 'ADMIN_TOKEN')).toBe(a);
    expect(fs.readdirSync(path.join(dir, 'secrets'))).toEqual(['admin-token']);
  });

  it('the voice server does not start on an empty admin-token file (an empty bearer used to pass)', async () => {
    const dir = dataDirWith({ 'admin-token': '' });
    const config = loadSignalingConfig({
      SIGNALING_WSS_PORT: '0',
      SIGNALING_WS_PORT: '-1',
      SIGNALING_INTERNAL_PORT: '0',
      SFU_UDP_PORT: '0',
    });
    await expect(
      startVoiceGateway({ config, dataDir: dir, bind: '127.0.0.1', logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow(/ADMIN_TOKEN/);
  });

  it('compares in constant time and only equal strings match', () => {
    expect(safeEqual('a'.repeat(20), 'a'.repeat(20))).toBe(true);
    expect(safeEqual('a'.repeat(20), 'a'.repeat(19))).toBe(false);
    expect(safeEqual('', 'a'.repeat(16))).toBe(false);
    expect(safeEqual('b'.repeat(20), 'a'.repeat(20))).toBe(false);
  });
});
