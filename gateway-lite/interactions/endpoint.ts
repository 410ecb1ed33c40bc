/**
 * Interactions endpoint URLs: signed delivery (X-Signature-Ed25519 over timestamp + body, X-Signature-Timestamp in
 * unix seconds) through the guarded outbound client, and Discord's check before a URL is saved — a correctly signed
 * PING must get `{"type":1}` and a wrongly signed one must get 401, so an endpoint that does not verify is refused.
 */
import type { StoredApplication } from '../storage/types.ts';
import { newKeyPair, signRequest } from './keys.ts';
import { OutboundError, type OutboundClient, type OutboundResponse } from './outbound.ts';

const USER_AGENT = 'Discord-Interactions/1.0 (+https://github.com/resound; Resound)';

export class EndpointCaller {
  /** Signs the bad-signature probe: a valid Ed25519 signature by a key that is not the application's. */
  private readonly stranger = newKeyPair();

  constructor(readonly client: OutboundClient) {}

  async deliver(app: Pick<StoredApplication, 'privateKey'>, url: string, payload: unknown): Promise<OutboundResponse> {
    return this.send(app.privateKey, url, Buffer.from(JSON.stringify(payload)));
  }

  /**
   * Null when `url` may be saved for `app`, else why not (the sentence goes into the 50035 message). `id` and
   * `token` make the PING look like any interaction.
   */
  async verify(app: StoredApplication, url: string, id: string, token: string): Promise<string | null> {
    return (await this.check(app, url, id, token)).reason;
  }

  /**
   * `verify`, retried once a second while nothing answers at the URL (the seed command prints the verify_key first,
   * so the endpoint can be started with it); a wrong answer ends the wait at once.
   */
  async verifyWhenUp(app: StoredApplication, url: string, id: string, token: string, waitMs: number) {
    const end = Date.now() + waitMs;
    for (;;) {
      const r = await this.check(app, url, id, token);
      if (!r.retryable || Date.now() >= end) return r.reason;
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  private async check(
    app: StoredApplication,
    url: string,
    id: string,
    token: string,
  ): Promise<{ reason: string | null; retryable: boolean }> {
    const no = (reason: string) => ({ reason, retryable: false });
    const ping = Buffer.from(
      JSON.stringify({ id, application_id: app.id, type: 1, token, version: 1, user: { id: app.ownerId } }),
    );
    try {
      const good = await this.send(app.privateKey, url, ping);
      if (good.status !== 200) return no(`the signed PING was answered with HTTP ${good.status}`);
      let body: unknown;
      try {
        body = JSON.parse(good.body.toString());
      } catch {
        return no('the signed PING was not answered with JSON');
      }
      if ((body as { type?: unknown } | null)?.type !== 1)
        return no('the signed PING was not answered with {"type":1}');
      const bad = await this.send(this.stranger.privateKey, url, ping);
      if (bad.status !== 401)
        return no(`a request with an invalid signature was answered with HTTP ${bad.status}, not 401`);
      return { reason: null, retryable: false };
    } catch (err) {
      if (err instanceof OutboundError)
        return { reason: err.message, retryable: err.kind === 'network' || err.kind === 'connect_timeout' };
      throw err;
    }
  }

  private send(privateKey: string, url: string, body: Buffer): Promise<OutboundResponse> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return this.client.post(
      url,
      {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'x-signature-ed25519': signRequest(privateKey, timestamp, body),
        'x-signature-timestamp': timestamp,
      },
      body,
    );
  }
}
