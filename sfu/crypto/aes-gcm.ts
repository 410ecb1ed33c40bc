/**
 * AES-256-GCM primitives: the native addon (native/aead-gcm, one OpenSSL context per key, only the IV changes per
 * packet) and node:crypto (a new Cipheriv per packet), the fallback when the addon was not built.
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bool, parseEnv } from '../../common/config.ts';
import type { AeadPrimitive } from './aead-primitive.ts';
import { TAG_LENGTH, writeU32BE } from './layout.ts';

/** Shape of native/aead-gcm/aead_gcm.c's exports. */
interface AeadGcmAddon {
  create(key: Uint8Array): object;
  seal(
    ctx: object,
    out: Uint8Array,
    aadLength: number,
    src: Uint8Array,
    srcOffset: number,
    srcLength: number,
    counter: number,
  ): number;
  open(ctx: object, packet: Uint8Array, aadLength: number, ctLength: number, counter: number, out: Uint8Array): number;
  destroy(ctx: object): void;
}

/** Environment of the crypto layer; validated with the rest of the SFU's configuration at start-up. */
export const cryptoShape = {
  /** Use the native AES-256-GCM addon when it is built (false = node:crypto, and XChaCha20 is offered first). */
  SFU_AEAD_GCM_ADDON: bool(true),
};

export const ADDON_PATH = path.resolve(import.meta.dirname, '../../native/aead-gcm/build/Release/aead_gcm.node');

let addon: AeadGcmAddon | null | undefined;
let addonError: string | null = null;

/** The addon, or null when it was not built (npm's install script tolerates a failed build) or fails to load. */
export function loadAeadGcmAddon(): AeadGcmAddon | null {
  if (addon !== undefined) return addon;
  if (!parseEnv(cryptoShape).SFU_AEAD_GCM_ADDON) {
    addonError = 'disabled by SFU_AEAD_GCM_ADDON';
    addon = null;
    return addon;
  }
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as AeadGcmAddon;
  } catch (err) {
    addon = null;
    addonError = err instanceof Error ? err.message : String(err);
  }
  return addon;
}

/** Why the addon is unavailable (for the start-up log), or null when it loaded. */
export function aeadGcmAddonError(): string | null {
  loadAeadGcmAddon();
  return addonError;
}

export function createAddonAesGcm(key: Uint8Array): AeadPrimitive {
  const a = loadAeadGcmAddon();
  if (!a) throw new Error(`aead-gcm addon unavailable: ${addonError}`);
  let ctx: object | null = a.create(key);
  return {
    backend: 'aead-gcm-addon',
    seal(out, aadLength, src, srcOffset, srcLength, counter) {
      if (ctx === null) throw new Error('cipher closed');
      return a.seal(ctx, out, aadLength, src, srcOffset, srcLength, counter);
    },
    open(packet, aadLength, ctLength, counter, out) {
      if (ctx === null) throw new Error('cipher closed');
      return a.open(ctx, packet, aadLength, ctLength, counter, out);
    },
    close() {
      if (ctx !== null) a.destroy(ctx);
      ctx = null;
    },
  };
}

/** node:crypto: correct everywhere, but builds (and key-expands) a cipher object and result buffers per packet. */
export function createNodeAesGcm(key: Uint8Array): AeadPrimitive {
  const secret = crypto.createSecretKey(Buffer.from(key));
  const iv = Buffer.alloc(12);
  return {
    backend: 'node-crypto',
    seal(out, aadLength, src, srcOffset, srcLength, counter) {
      writeU32BE(iv, 0, counter);
      const c = crypto.createCipheriv('aes-256-gcm', secret, iv);
      c.setAAD(out.subarray(0, aadLength));
      const ct = c.update(src.subarray(srcOffset, srcOffset + srcLength));
      out.set(ct, aadLength);
      c.final();
      out.set(c.getAuthTag(), aadLength + srcLength);
      return srcLength + TAG_LENGTH;
    },
    open(packet, aadLength, ctLength, counter, out) {
      writeU32BE(iv, 0, counter);
      const d = crypto.createDecipheriv('aes-256-gcm', secret, iv);
      d.setAAD(packet.subarray(0, aadLength));
      d.setAuthTag(packet.subarray(aadLength + ctLength, aadLength + ctLength + TAG_LENGTH));
      const pt = d.update(packet.subarray(aadLength, aadLength + ctLength));
      try {
        d.final();
      } catch {
        return -1;
      }
      out.set(pt, 0);
      return ctLength;
    },
    close() {},
  };
}
