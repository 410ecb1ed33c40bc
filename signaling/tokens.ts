import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Voice join tokens: the claims (guild, channel, user, session, expiry) signed with HMAC-SHA256 under the server
 * secret, so any signaling server sharing the secret can admit the user without a shared session store.
 */
export interface VoiceTokenClaims {
  guildId: string;
  channelId: string;
  userId: string;
  sessionId: string;
  /** Unix ms after which a new Identify is refused (resumes of a live session are still honoured). */
  expiresAt: number;
}

export type TokenResult =
  { ok: true; claims: VoiceTokenClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export class VoiceTokenSigner {
  constructor(private readonly secret: string) {}

  sign(claims: VoiceTokenClaims): string {
    const body = Buffer.from(
      JSON.stringify({
        g: claims.guildId,
        c: claims.channelId,
        u: claims.userId,
        s: claims.sessionId,
        e: claims.expiresAt,
        // A random nonce makes every token unique, so two joins with the same claims (a main-gateway session rejoining
        // in the same millisecond) still get distinct single-use tokens.
        n: randomBytes(9).toString('base64url'),
      }),
    ).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(token: string, now = Date.now()): TokenResult {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'bad_signature' };
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const c = raw as Record<string, unknown>;
    if (
      typeof c.g !== 'string' ||
      typeof c.c !== 'string' ||
      typeof c.u !== 'string' ||
      typeof c.s !== 'string' ||
      typeof c.e !== 'number'
    ) {
      return { ok: false, reason: 'malformed' };
    }
    const claims: VoiceTokenClaims = { guildId: c.g, channelId: c.c, userId: c.u, sessionId: c.s, expiresAt: c.e };
    if (claims.expiresAt <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

/**
 * Join tokens are single-use: the first Identify consumes one (by the token itself) until it expires, so a token seen
 * on the wire or in a log cannot be replayed to take over the session it created. Keyed by token rather than session
 * id because a main-gateway session keeps its session id across voice joins (rejoin, channel moves). Per voice
 * server; with fleet placement every join for a channel lands on the server hosting it, so the same server sees any
 * replay.
 */
export class UsedTokens {
  private readonly seen = new Map<string, number>();

  /** True the first time `token` (already verified, with these claims) is presented; false for every later one. */
  consume(token: string, claims: VoiceTokenClaims, now = Date.now()): boolean {
    this.prune(now);
    if (this.seen.has(token)) return false;
    this.seen.set(token, claims.expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    // Entries arrive in roughly expiry order (one TTL for all), so the oldest expire first.
    for (const [id, exp] of this.seen) {
      if (exp > now) break;
      this.seen.delete(id);
    }
  }
}
