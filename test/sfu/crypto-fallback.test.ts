/**
 * Without the AES-GCM addon (not built, or disabled by SFU_AEAD_GCM_ADDON=false) AES-GCM runs on node:crypto and
 * XChaCha20 is offered first. Runs in a child process so this process keeps its addon.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const script = `
import { createTransportCipher, preferredModes, describeCryptoBackends } from ${JSON.stringify(path.join(root, 'sfu/crypto/index.ts'))};
const key = new Uint8Array(32).fill(7);
const tx = createTransportCipher('aead_aes256_gcm_rtpsize', key);
const rx = createTransportCipher('aead_aes256_gcm_rtpsize', key);
const out = new Uint8Array(256);
out.set([0x80, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]);
const n = tx.seal(out, 12, new Uint8Array([1, 2, 3]), 3, 0x80000000);
const plain = new Uint8Array(64);
const m = rx.open(out, n, 12, plain);
console.log(JSON.stringify({ backend: tx.backend, modes: preferredModes(), opened: Array.from(plain.subarray(0, m)), error: describeCryptoBackends().aeadGcmAddonError }));
`;

function run(env: Record<string, string>): {
  backend: string;
  modes: string[];
  opened: number[];
  error: string | null;
} {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('AES-GCM addon fallback', () => {
  it('falls back to node:crypto and offers XChaCha first', () => {
    const r = run({ SFU_AEAD_GCM_ADDON: 'false' });
    expect(r.backend).toBe('node-crypto');
    expect(r.modes[0]).toBe('aead_xchacha20_poly1305_rtpsize');
    expect(r.modes[1]).toBe('aead_aes256_gcm_rtpsize');
    expect(r.opened).toEqual([1, 2, 3]);
    expect(r.error).toMatch(/SFU_AEAD_GCM_ADDON/);
  });

  it('a bad SFU_AEAD_GCM_ADDON value is reported by name', () => {
    expect(() => run({ SFU_AEAD_GCM_ADDON: 'maybe' })).toThrow(/SFU_AEAD_GCM_ADDON/);
  });
});
