/**
 * Application keys: Ed25519 from node:crypto. `verify_key` is the raw 32-byte public key in hex (the tail of its
 * SPKI DER); the private key is kept as PKCS#8 DER (base64) and signs `timestamp + body` of every outgoing
 * interaction request, which is what Discord's `verifyKey` checks on the app's side.
 */
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface KeyPair {
  /** 64 hex characters. */
  publicKey: string;
  /** PKCS#8 DER, base64. */
  privateKey: string;
}

export function newKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    publicKey: spki.subarray(spki.length - 32).toString('hex'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

/** Parsed private keys, so a busy application does not re-parse its DER per request. */
const parsed = new Map<string, KeyObject>();

function keyOf(privateKey: string): KeyObject {
  let key = parsed.get(privateKey);
  if (!key) {
    if (parsed.size >= 1024) parsed.clear();
    key = createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    parsed.set(privateKey, key);
  }
  return key;
}

/** Discord's signature: Ed25519 over the timestamp string followed by the raw body bytes, as hex. */
export function signRequest(privateKey: string, timestamp: string, body: Buffer): string {
  return sign(null, Buffer.concat([Buffer.from(timestamp), body]), keyOf(privateKey)).toString('hex');
}
