/**
 * Applications and their commands as Discord's JSON: every bot user has an application whose id is the bot's user
 * id (Discord's own convention for current apps, so READY's `application.id` is simply the bot's id). Bots created
 * before applications existed get theirs on first use.
 */
import type { Snowflake, Storage, StoredApplication, StoredCommand, StoredUser } from '../storage/types.ts';
import { userJson } from '../rest/serialize.ts';
import { newKeyPair } from './keys.ts';

/** The bot's application, created (with a fresh key pair) when it has none yet. */
export async function ensureApplication(
  storage: Storage,
  bot: StoredUser,
  ownerId?: Snowflake,
): Promise<StoredApplication> {
  const found = await storage.apps.getApplicationByBot(bot.id);
  if (found) return found;
  const keys = newKeyPair();
  const app: StoredApplication = {
    id: bot.id,
    botUserId: bot.id,
    ownerId: ownerId ?? bot.id,
    name: bot.username,
    description: '',
    publicKey: keys.publicKey,
    privateKey: keys.privateKey,
    interactionsEndpointUrl: null,
    flags: 0,
  };
  await storage.apps.upsertApplication(app);
  return app;
}

export function applicationJson(app: StoredApplication, bot: StoredUser | null, owner: StoredUser | null) {
  return {
    id: app.id,
    name: app.name,
    icon: null,
    description: app.description,
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: app.publicKey,
    flags: app.flags,
    interactions_endpoint_url: app.interactionsEndpointUrl,
    ...(bot ? { bot: userJson(bot) } : {}),
    ...(owner ? { owner: userJson(owner) } : {}),
    team: null,
    summary: '',
    tags: [],
    integration_types_config: { '0': {} },
  };
}

export function commandJson(c: StoredCommand) {
  const d = c.data;
  return {
    id: c.id,
    application_id: c.applicationId,
    version: c.version,
    type: c.type,
    name: c.name,
    name_localizations: d.name_localizations ?? null,
    description: (d.description as string | undefined) ?? '',
    description_localizations: d.description_localizations ?? null,
    ...(c.guildId ? { guild_id: c.guildId } : {}),
    ...(d.options ? { options: d.options } : {}),
    default_member_permissions: d.default_member_permissions ?? null,
    dm_permission: d.dm_permission ?? true,
    nsfw: d.nsfw ?? false,
    integration_types: d.integration_types ?? [0],
    contexts: d.contexts ?? null,
  };
}
