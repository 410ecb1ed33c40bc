import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Discord-shaped signed URLs: `ex` (expiry) and `is` (issue time) as hex unix seconds, `hm` = HMAC-SHA256 over the
 * path and both times, hex. Transform parameters are not signed, so one signed URL serves every size of a file.
 */
export interface Signature {
  ex: string;
  is: string;
  hm: string;
}

function mac(secret: string, pathname: string, ex: string, is: string): string {
  return createHmac('sha256', secret).update(`${pathname}\n${ex}\n${is}`).digest('hex');
}

export function signPath(secret: string, pathname: string, ttlS: number, nowMs = Date.now()): Signature {
  const now = Math.floor(nowMs / 1000);
  const is = now.toString(16);
  const ex = (now + ttlS).toString(16);
  return { ex, is, hm: mac(secret, pathname, ex, is) };
}

export function signedUrl(secret: string, base: string, pathname: string, ttlS: number, nowMs = Date.now()): string {
  const s = signPath(secret, pathname, ttlS, nowMs);
  return `${base.replace(/\/$/, '')}${pathname}?ex=${s.ex}&is=${s.is}&hm=${s.hm}`;
}

export type SignatureCheck = 'ok' | 'missing' | 'malformed' | 'forged' | 'expired';

export function verifySignature(
  secret: string,
  pathname: string,
  q: Partial<Record<'ex' | 'is' | 'hm', string>>,
  nowMs = Date.now(),
): SignatureCheck {
  const { ex, is, hm } = q;
  if (!ex || !is || !hm) return 'missing';
  if (!/^[0-9a-f]{1,12}$/.test(ex) || !/^[0-9a-f]{1,12}$/.test(is) || !/^[0-9a-f]{64}$/.test(hm)) return 'malformed';
  const want = Buffer.from(mac(secret, pathname, ex, is), 'hex');
  if (!timingSafeEqual(want, Buffer.from(hm, 'hex'))) return 'forged';
  if (parseInt(ex, 16) * 1000 < nowMs) return 'expired';
  return 'ok';
}
