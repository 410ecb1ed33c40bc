/**
 * Transport crypto: one cipher per (session key, mode), on the fastest backend available here, plus replay windows
 * for client counters and server-range counters for what the SFU sends.
 *
 * Backend ranking comes from `npm run bench -- crypto` (12-byte header + 160-byte payload, 2-core dev machine,
 * encrypts per CPU-second, node:crypto AES-GCM with a new Cipheriv per packet = 1×):
 *   AES-256-GCM  aead-gcm addon ≈ 3.6M/s (≈13×, no JS allocation) · node:crypto ≈ 0.27M/s (1×)
 *   XChaCha20    sodium-native ≈ 0.88M/s (≈3.3×) · libsodium-wrappers ≈ 0.72M/s (≈2.7×)
 *   XSalsa20     sodium-native ≈ 0.93–1.06M/s · libsodium-wrappers ≈ 0.65–0.74M/s
 * so AES-GCM is offered first when the addon is loaded, XChaCha first when it is not. (XChaCha through OpenSSL's
 * ChaCha20-Poly1305 plus a per-packet HChaCha20 subkey in the addon measured only ≈1.2× sodium-native: not kept.)
 */
import type { AeadPrimitiveFactory } from './aead-primitive.ts';
import { AeadRtpsizeCipher } from './aead-rtpsize.ts';
import { aeadGcmAddonError, createAddonAesGcm, createNodeAesGcm, loadAeadGcmAddon } from './aes-gcm.ts';
import {
  createLibsodiumSecretbox,
  createLibsodiumXChaCha,
  createSodiumNativeSecretbox,
  createSodiumNativeXChaCha,
  libsodiumWrappersReady,
  loadLibsodiumWrappers,
  loadSodiumNative,
  type SecretboxPrimitive,
} from './sodium.ts';
import { TRANSPORT_MODES, type TransportCipher, type TransportMode } from './types.ts';
import { XSalsaCipher } from './xsalsa.ts';

export * from './types.ts';
export { ReplayWindow, type ReplayRejection } from './replay-window.ts';
export { SERVER_NONCE_BASE, ServerNonceCounter, isServerRangeNonce } from './server-nonce.ts';
export { rtpsizeHeaderLength, RTP_FIXED_HEADER, TAG_LENGTH, COUNTER_LENGTH } from './layout.ts';
export { loadLibsodiumWrappers } from './sodium.ts';
export { cryptoShape } from './aes-gcm.ts';

export type CryptoBackend = 'aead-gcm-addon' | 'node-crypto' | 'sodium-native' | 'libsodium-wrappers';

/** A transport cipher that also names the library doing its work. */
export interface BackedTransportCipher extends TransportCipher {
  readonly backend: string;
}

export interface CipherOptions {
  /** Force one backend (tests, benchmarks); by default the fastest available one is used. */
  backend?: CryptoBackend;
}

type Family = 'aes-gcm' | 'xchacha' | 'xsalsa';

function familyOf(mode: TransportMode): Family {
  if (mode === 'aead_aes256_gcm_rtpsize') return 'aes-gcm';
  if (mode === 'aead_xchacha20_poly1305_rtpsize') return 'xchacha';
  return 'xsalsa';
}

/** Encrypts/s per backend measured by bench/crypto.ts; only the order matters. */
const MEASURED_SEALS_PER_SEC: Record<Family, Partial<Record<CryptoBackend, number>>> = {
  'aes-gcm': { 'aead-gcm-addon': 3_600_000, 'node-crypto': 270_000 },
  xchacha: { 'sodium-native': 880_000, 'libsodium-wrappers': 720_000 },
  xsalsa: { 'sodium-native': 1_000_000, 'libsodium-wrappers': 700_000 },
};

function isAvailable(backend: CryptoBackend): boolean {
  switch (backend) {
    case 'aead-gcm-addon':
      return loadAeadGcmAddon() !== null;
    case 'node-crypto':
      return true;
    case 'sodium-native':
      return loadSodiumNative() !== null;
    case 'libsodium-wrappers':
      return libsodiumWrappersReady();
  }
}

/** Backends that can run `mode` right now, fastest first. */
export function backendsFor(mode: TransportMode): CryptoBackend[] {
  const table = MEASURED_SEALS_PER_SEC[familyOf(mode)];
  return (Object.keys(table) as CryptoBackend[]).filter(isAvailable).sort((a, b) => (table[b] ?? 0) - (table[a] ?? 0));
}

export function createTransportCipher(
  mode: TransportMode,
  key: Uint8Array,
  options: CipherOptions = {},
): BackedTransportCipher {
  if (key.length !== 32) throw new Error(`transport key must be 32 bytes, got ${key.length}`);
  const available = backendsFor(mode);
  const backend = options.backend ?? available[0];
  if (backend === undefined || !available.includes(backend)) {
    throw new Error(`no usable crypto backend for ${mode}${options.backend ? ` (requested ${options.backend})` : ''}`);
  }
  const family = familyOf(mode);
  if (family === 'xsalsa') {
    const box: SecretboxPrimitive =
      backend === 'sodium-native' ? createSodiumNativeSecretbox(key) : createLibsodiumSecretbox(key);
    return new XSalsaCipher(mode as XSalsaCipher['mode'], box);
  }
  const factories: Partial<Record<CryptoBackend, AeadPrimitiveFactory>> =
    family === 'aes-gcm'
      ? { 'aead-gcm-addon': createAddonAesGcm, 'node-crypto': createNodeAesGcm }
      : { 'sodium-native': createSodiumNativeXChaCha, 'libsodium-wrappers': createLibsodiumXChaCha };
  const factory = factories[backend];
  if (!factory) throw new Error(`backend ${backend} does not implement ${mode}`);
  return new AeadRtpsizeCipher(mode as AeadRtpsizeCipher['mode'], factory(key));
}

/**
 * Modes for Ready.modes in the server's order of preference: the two AEAD modes ordered by the measured speed of
 * their best available backend, then the legacy XSalsa20 modes (weaker: the header is not authenticated) for old
 * clients. Modes with no usable backend are left out.
 */
export function preferredModes(): TransportMode[] {
  return rankModes((m) => backendsFor(m)[0]);
}

/** The ordering behind preferredModes, given which backend would serve each mode (undefined = none). */
export function rankModes(bestBackend: (mode: TransportMode) => CryptoBackend | undefined): TransportMode[] {
  const speed = (m: TransportMode): number => {
    const best = bestBackend(m);
    return best === undefined ? -1 : (MEASURED_SEALS_PER_SEC[familyOf(m)][best] ?? 0);
  };
  const aead = TRANSPORT_MODES.filter((m) => familyOf(m) !== 'xsalsa' && speed(m) >= 0).sort(
    (a, b) => speed(b) - speed(a),
  );
  const legacy = TRANSPORT_MODES.filter((m) => familyOf(m) === 'xsalsa' && speed(m) >= 0);
  return [...aead, ...legacy];
}

/** What the start-up log should say about the crypto backends. */
export function describeCryptoBackends(): {
  modes: TransportMode[];
  backends: Record<string, string>;
  aeadGcmAddonError: string | null;
} {
  const backends: Record<string, string> = {};
  for (const m of TRANSPORT_MODES) backends[m] = backendsFor(m)[0] ?? 'none';
  return { modes: preferredModes(), backends, aeadGcmAddonError: aeadGcmAddonError() };
}

// Without sodium-native, XChaCha (which every server must offer) can still run on the WebAssembly build once loaded.
if (loadSodiumNative() === null) void loadLibsodiumWrappers().catch(() => undefined);
