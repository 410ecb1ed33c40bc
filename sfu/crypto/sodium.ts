/**
 * libsodium-backed primitives: XChaCha20-Poly1305 (IETF) for the AEAD rtpsize mode and XSalsa20-Poly1305 secretbox
 * for the legacy modes. sodium-native (prebuilt native binding) is the production backend; libsodium-wrappers
 * (WebAssembly, async initialisation, allocates its results) is kept as a measured alternative and a fallback.
 */
import { createRequire } from 'node:module';
import type { AeadPrimitive } from './aead-primitive.ts';
import { TAG_LENGTH, writeU32BE } from './layout.ts';

/** The few sodium-native functions used here (the package ships no types). */
interface SodiumNative {
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_secretbox_easy(c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void;
  crypto_secretbox_open_easy(m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean;
  randombytes_buf(b: Uint8Array): void;
  sodium_memzero(b: Uint8Array): void;
}

type LibsodiumWrappers = typeof import('libsodium-wrappers').default;

let native: SodiumNative | null | undefined;
let wasm: LibsodiumWrappers | null = null;

export function loadSodiumNative(): SodiumNative | null {
  if (native !== undefined) return native;
  try {
    native = createRequire(import.meta.url)('sodium-native') as SodiumNative;
  } catch {
    native = null;
  }
  return native;
}

/** libsodium-wrappers needs an asynchronous WebAssembly start; after this resolves its backends are usable. */
export async function loadLibsodiumWrappers(): Promise<LibsodiumWrappers> {
  if (wasm) return wasm;
  const mod = await import('libsodium-wrappers');
  await mod.default.ready;
  wasm = mod.default;
  return wasm;
}

export function libsodiumWrappersReady(): boolean {
  return wasm !== null;
}

/** XSalsa20-Poly1305 secretbox in the "easy" layout (16-byte MAC ‖ ciphertext), which is what Discord's modes carry. */
export interface SecretboxPrimitive {
  readonly backend: string;
  /** out[outOffset…] = MAC ‖ ciphertext of src[srcOffset, srcOffset + srcLength); nonce is 24 bytes. */
  seal(
    out: Uint8Array,
    outOffset: number,
    src: Uint8Array,
    srcOffset: number,
    srcLength: number,
    nonce: Uint8Array,
  ): void;
  /** Box = packet[offset, offset + boxLength); plaintext (boxLength − 16 bytes) to out at 0. False when forged. */
  open(packet: Uint8Array, offset: number, boxLength: number, nonce: Uint8Array, out: Uint8Array): boolean;
  close(): void;
}

function keyCopy(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new Error(`transport key must be 32 bytes, got ${key.length}`);
  return Uint8Array.from(key);
}

export function createSodiumNativeXChaCha(key: Uint8Array): AeadPrimitive {
  const s = loadSodiumNative();
  if (!s) throw new Error('sodium-native unavailable');
  const k = keyCopy(key);
  const nonce = new Uint8Array(24);
  return {
    backend: 'sodium-native',
    seal(out, aadLength, src, srcOffset, srcLength, counter) {
      writeU32BE(nonce, 0, counter);
      return s.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out.subarray(aadLength, aadLength + srcLength + TAG_LENGTH),
        src.subarray(srcOffset, srcOffset + srcLength),
        out.subarray(0, aadLength),
        null,
        nonce,
        k,
      );
    },
    open(packet, aadLength, ctLength, counter, out) {
      writeU32BE(nonce, 0, counter);
      try {
        return s.crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.subarray(0, ctLength),
          null,
          packet.subarray(aadLength, aadLength + ctLength + TAG_LENGTH),
          packet.subarray(0, aadLength),
          nonce,
          k,
        );
      } catch {
        // sodium-native throws on a bad tag; a forged packet is an ordinary event here.
        return -1;
      }
    },
    close() {
      s.sodium_memzero(k);
    },
  };
}

function requireWasm(): LibsodiumWrappers {
  if (!wasm) throw new Error('libsodium-wrappers not initialised: await loadLibsodiumWrappers() first');
  return wasm;
}

export function createLibsodiumXChaCha(key: Uint8Array): AeadPrimitive {
  const s = requireWasm();
  const k = keyCopy(key);
  const nonce = new Uint8Array(24);
  return {
    backend: 'libsodium-wrappers',
    seal(out, aadLength, src, srcOffset, srcLength, counter) {
      writeU32BE(nonce, 0, counter);
      const c = s.crypto_aead_xchacha20poly1305_ietf_encrypt(
        src.subarray(srcOffset, srcOffset + srcLength),
        out.subarray(0, aadLength),
        null,
        nonce,
        k,
      );
      out.set(c, aadLength);
      return c.length;
    },
    open(packet, aadLength, ctLength, counter, out) {
      writeU32BE(nonce, 0, counter);
      try {
        const m = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
          null,
          packet.subarray(aadLength, aadLength + ctLength + TAG_LENGTH),
          packet.subarray(0, aadLength),
          nonce,
          k,
        );
        out.set(m, 0);
        return m.length;
      } catch {
        return -1;
      }
    },
    close() {
      k.fill(0);
    },
  };
}

export function createSodiumNativeSecretbox(key: Uint8Array): SecretboxPrimitive {
  const s = loadSodiumNative();
  if (!s) throw new Error('sodium-native unavailable');
  const k = keyCopy(key);
  return {
    backend: 'sodium-native',
    seal(out, outOffset, src, srcOffset, srcLength, nonce) {
      s.crypto_secretbox_easy(
        out.subarray(outOffset, outOffset + srcLength + TAG_LENGTH),
        src.subarray(srcOffset, srcOffset + srcLength),
        nonce,
        k,
      );
    },
    open(packet, offset, boxLength, nonce, out) {
      return s.crypto_secretbox_open_easy(
        out.subarray(0, boxLength - TAG_LENGTH),
        packet.subarray(offset, offset + boxLength),
        nonce,
        k,
      );
    },
    close() {
      s.sodium_memzero(k);
    },
  };
}

export function createLibsodiumSecretbox(key: Uint8Array): SecretboxPrimitive {
  const s = requireWasm();
  const k = keyCopy(key);
  return {
    backend: 'libsodium-wrappers',
    seal(out, outOffset, src, srcOffset, srcLength, nonce) {
      out.set(s.crypto_secretbox_easy(src.subarray(srcOffset, srcOffset + srcLength), nonce, k), outOffset);
    },
    open(packet, offset, boxLength, nonce, out) {
      try {
        out.set(s.crypto_secretbox_open_easy(packet.subarray(offset, offset + boxLength), nonce, k), 0);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      k.fill(0);
    },
  };
}
