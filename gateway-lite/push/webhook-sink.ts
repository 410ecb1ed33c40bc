import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PushNotification, PushSink } from './types.ts';

export const SIGNATURE_HEADER = 'x-resound-signature';
export const TIMESTAMP_HEADER = 'x-resound-timestamp';

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the timestamp is signed so a captured call can't be replayed later. */
export function signPush(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The receiver's check: right signature, timestamp within `toleranceS` of now. */
export function verifyPush(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  body: string,
  toleranceS = 300,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowS - Number(timestamp)) > toleranceS) return false;
  const want = Buffer.from(signPush(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface WebhookSinkOptions {
  url: string;
  secret: string;
  /** Per-batch request timeout. */
  timeoutMs: number;
}

/** The default sink: POST `{"notifications":[…]}` (one batch) to a URL, signed with HMAC-SHA256; non-2xx = failed. */
export class WebhookSink implements PushSink {
  constructor(private readonly opts: WebhookSinkOptions) {}

  async deliver(batch: PushNotification[]): Promise<void> {
    const body = JSON.stringify({ notifications: batch });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await fetch(this.opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signPush(this.opts.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined); // free the connection for reuse
    if (!res.ok) throw new Error(`push webhook answered ${res.status}`);
  }
}
