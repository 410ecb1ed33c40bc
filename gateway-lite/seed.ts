import { SnowflakeGenerator } from '../common/snowflake.ts';
import { ensureApplication } from './interactions/applications.ts';
import { mintBotToken } from './rest/auth.ts';
import type { Storage } from './storage/types.ts';

export interface SeedResult {
  guildId: string;
  ownerId: string;
  botId: string;
  /** Shown once; only its SHA-256 is stored. */
  token: string;
  textChannelId: string;
  voiceChannelId: string;
  /** Every seeded bot (the first is `botId`/`token`), each a member of the guild. */
  bots: Array<{ id: string; token: string }>;
  /** The bot's application (id = bot id) and its Ed25519 public key, hex (Discord's verify_key). */
  applicationId: string;
  verifyKey: string;
  /** A user (non-bot) token for the owner, sent as a bare `Authorization` header: it invokes commands. */
  userToken: string;
}

/**
 * A guild to try the API with: an owner, a bot user (member, and owner of the guild so it may create channels),
 * the @everyone role (id = guild id, as in Discord), #general and a voice channel.
 */
export async function seedPlatform(
  store: Storage,
  opts: {
    guildName?: string;
    botName?: string;
    ids?: SnowflakeGenerator;
    /** Bots to seed (default 1). */ bots?: number;
  } = {},
): Promise<SeedResult> {
  const ids = opts.ids ?? new SnowflakeGenerator();
  const guildId = ids.next();
  const ownerId = ids.next();
  const botId = ids.next();
  const { token, tokenHash } = mintBotToken(botId);
  const owner = mintBotToken(ownerId);
  await store.upsertUser({
    id: ownerId,
    username: 'owner',
    globalName: 'Owner',
    avatar: null,
    bot: false,
    tokenHash: owner.tokenHash,
  });
  await store.upsertUser({
    id: botId,
    username: opts.botName ?? 'resound-bot',
    globalName: null,
    avatar: null,
    bot: true,
    tokenHash,
  });
  await store.upsertGuild({ id: guildId, name: opts.guildName ?? 'Resound', ownerId: botId, icon: null });
  await store.upsertRole({
    id: guildId,
    guildId,
    name: '@everyone',
    permissions: '1071698660929',
    position: 0,
    color: 0,
    hoist: false,
    mentionable: false,
  });
  const bots = [{ id: botId, token }];
  // More bots (two bots in one voice channel: one speaks, one listens), named after the first.
  for (let i = 2; i <= (opts.bots ?? 1); i++) {
    const id = ids.next();
    const minted = mintBotToken(id);
    await store.upsertUser({
      id,
      username: `${opts.botName ?? 'resound-bot'}-${i}`,
      globalName: null,
      avatar: null,
      bot: true,
      tokenHash: minted.tokenHash,
    });
    bots.push({ id, token: minted.token });
  }
  const now = Date.now();
  for (const userId of [ownerId, ...bots.map((b) => b.id)])
    await store.upsertMember({ guildId, userId, nick: null, roleIds: [], joinedAt: now });
  const textChannelId = ids.next();
  const voiceChannelId = ids.next();
  await store.upsertChannel({
    id: textChannelId,
    guildId,
    type: 0,
    name: 'general',
    position: 0,
    topic: null,
    parentId: null,
    bitrate: null,
    userLimit: null,
  });
  await store.upsertChannel({
    id: voiceChannelId,
    guildId,
    type: 2,
    name: 'General',
    position: 1,
    topic: null,
    parentId: null,
    bitrate: 64000,
    userLimit: 0,
  });
  // Every bot belongs to an application (Ed25519 key pair, commands); the first bot's is the one printed.
  const apps = [];
  for (const b of bots) apps.push(await ensureApplication(store, (await store.getUser(b.id))!, ownerId));
  const app = apps[0];
  return {
    guildId,
    ownerId,
    botId,
    token,
    textChannelId,
    voiceChannelId,
    applicationId: app.id,
    verifyKey: app.publicKey,
    userToken: owner.token,
    bots,
  };
}
