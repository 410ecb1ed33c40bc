/** Row ↔ object mapping for applications and commands, shared by both backends. */
import type { CommandType, JsonObject, StoredApplication, StoredCommand } from './types.ts';
import { type Row, id, num, str } from './entity-rows.ts';

/** Global commands are stored under guild 0, so (application, guild) is one indexable key in both backends. */
export const GLOBAL_GUILD = '0';

export function toApplication(r: Row): StoredApplication {
  return {
    id: id(r.id),
    botUserId: id(r.bot_user_id),
    ownerId: id(r.owner_id),
    name: String(r.name),
    description: String(r.description),
    publicKey: String(r.public_key),
    privateKey: String(r.private_key),
    interactionsEndpointUrl: str(r.endpoint_url),
    flags: num(r.flags),
  };
}

export function toCommand(r: Row): StoredCommand {
  const guild = id(r.guild_id);
  const data = r.data as unknown;
  return {
    id: id(r.id),
    applicationId: id(r.application_id),
    guildId: guild === GLOBAL_GUILD ? null : guild,
    name: String(r.name),
    type: num(r.type) as CommandType,
    version: id(r.version),
    data: (typeof data === 'string' ? JSON.parse(data) : data) as JsonObject,
  };
}
