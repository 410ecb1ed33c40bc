import { createHash, randomBytes } from 'node:crypto';
import type { EntityStore, StoredUser } from '../storage/types.ts';

/** Bot tokens: Discord's three-part shape (base64 user id . time . secret); only the SHA-256 is stored. */
export function mintBotToken(userId: string): { token: string; tokenHash: string } {
  const token = [
    Buffer.from(userId).toString('base64url'),
    Buffer.from(Math.floor(Date.now() / 1000).toString(36)).toString('base64url'),
    randomBytes(27).toString('base64url'),
  ].join('.');
  return { token, tokenHash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * `Authorization: Bot <token>` → the bot user; a bare `Authorization: <token>` (Discord's user-client form) → a
 * non-bot user. Cached briefly so a hot caller does not cost a storage read per request (a revoked token keeps
 * working for at most `ttlMs`).
 */
export class BotAuth {
  private readonly cache = new Map<string, { user: StoredUser | null; at: number }>();

  constructor(
    private readonly store: EntityStore,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(header: string | undefined): Promise<StoredUser | null> {
    if (!header) return null;
    const asBot = header.startsWith('Bot ');
    const token = (asBot ? header.slice(4) : header).trim();
    if (token.length < 10 || token.length > 200 || token.includes(' ')) return null;
    const hash = hashToken(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    let user: StoredUser | null;
    if (hit && now - hit.at < this.ttlMs) user = hit.user;
    else {
      user = await this.store.getUserByTokenHash(hash);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(hash, { user, at: now });
    }
    // A bot token only with the Bot prefix, a user token only without it (Discord refuses both mix-ups with 401).
    return user && user.bot === asBot ? user : null;
  }
}
