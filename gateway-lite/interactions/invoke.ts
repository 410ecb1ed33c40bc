/**
 * A user's invocation (POST /api/v10/interactions): checked (member of the guild, channel in it, a command of the
 * application that is global or of this guild, options valid; for a component, a message the application sent that
 * carries that custom_id) and turned into the interaction object Discord sends to apps.
 */
import { z } from 'zod';
import { isSnowflake } from '../../common/snowflake.ts';
import { ApiError, formError } from '../rest/errors.ts';
import { channelJson, memberJson, messageJson } from '../rest/serialize.ts';
import type {
  JsonObject,
  JsonValue,
  Storage,
  StoredApplication,
  StoredCommand,
  StoredMessage,
  StoredUser,
} from '../storage/types.ts';
import { OptionResolver, type SentOption } from './options.ts';
import { memberPermissions } from './permissions.ts';

const snowflake = z
  .string()
  .refine(isSnowflake, { params: { discord: 'NUMBER_TYPE_COERCE' }, message: 'not snowflake' });

const sentOption: z.ZodType<SentOption> = z.lazy(() =>
  z.object({
    name: z.string().max(32),
    type: z.number().int().optional(),
    value: z.union([z.string().max(6000), z.number(), z.boolean()]).optional(),
    options: z.array(sentOption).max(25).optional(),
  }),
);

export const invokeBody = z.discriminatedUnion('type', [
  z.object({
    type: z.literal(2),
    application_id: snowflake,
    guild_id: snowflake,
    channel_id: snowflake,
    nonce: z.string().max(25).optional(),
    session_id: z.string().max(64).optional(),
    data: z.object({
      id: snowflake,
      name: z.string().max(32).optional(),
      type: z.number().int().optional(),
      version: z.string().optional(),
      options: z.array(sentOption).max(25).optional(),
      target_id: snowflake.optional(),
    }),
  }),
  z.object({
    type: z.literal(3),
    application_id: snowflake,
    guild_id: snowflake,
    channel_id: snowflake,
    message_id: snowflake,
    nonce: z.string().max(25).optional(),
    session_id: z.string().max(64).optional(),
    data: z.object({
      component_type: z.number().int().min(2).max(8),
      custom_id: z.string().min(1).max(100),
      values: z.array(z.string().max(100)).max(25).optional(),
    }),
  }),
]);
export type InvokeBody = z.infer<typeof invokeBody>;

export interface Prepared {
  app: StoredApplication;
  command?: StoredCommand;
  message?: StoredMessage;
  /** The interaction's `data`. */
  data: JsonObject;
  /** Everything of the interaction object but id and token. */
  base: JsonObject;
}

/** Validates an invocation and builds the interaction (minus id/token); throws Discord's errors. */
export async function prepareInvocation(
  storage: Storage,
  user: StoredUser,
  body: InvokeBody,
  findMessage: (channelId: string, messageId: string) => Promise<StoredMessage | null>,
): Promise<Prepared> {
  const [channel, member, app] = await Promise.all([
    storage.getChannel(body.channel_id),
    storage.getMember(body.guild_id, user.id),
    storage.apps.getApplication(body.application_id),
  ]);
  if (!channel || channel.guildId !== body.guild_id) throw new ApiError('UNKNOWN_CHANNEL');
  if (!member) throw new ApiError('MISSING_ACCESS');
  if (!app) throw new ApiError('UNKNOWN_APPLICATION');
  // The application's bot must be in the guild for the guild to have its commands.
  if (!(await storage.getMember(body.guild_id, app.botUserId))) throw new ApiError('UNKNOWN_APPLICATION');

  let data: JsonObject;
  let command: StoredCommand | undefined;
  let message: StoredMessage | undefined;
  const resolver = new OptionResolver(storage, body.guild_id);
  if (body.type === 2) {
    command = (await storage.apps.getCommand(app.id, body.data.id)) ?? undefined;
    if (!command || (command.guildId !== null && command.guildId !== body.guild_id))
      throw new ApiError('UNKNOWN_COMMAND');
    data = { id: command.id, name: command.name, type: command.type };
    if (command.guildId) data.guild_id = command.guildId;
    if (command.type === 1) {
      const defined = (command.data.options ?? []) as unknown as Parameters<OptionResolver['check']>[0];
      const options = await resolver.check(defined, body.data.options ?? []);
      if (options.length) data.options = options;
    } else {
      const target = body.data.target_id;
      if (!target) throw formError(['data', 'target_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
      data.target_id = target;
      if (command.type === 2) {
        if (!(await resolver.addUser(target))) throw new ApiError('UNKNOWN_USER');
      } else {
        const m = await findMessage(body.channel_id, target);
        if (!m) throw new ApiError('UNKNOWN_MESSAGE');
        resolver.resolved.messages = {
          [m.id]: messageJson(m, await storage.getUser(m.authorId)) as unknown as JsonObject,
        };
      }
    }
    if (Object.keys(resolver.resolved).length) data.resolved = resolver.resolved as unknown as JsonObject;
  } else {
    message = (await findMessage(body.channel_id, body.message_id)) ?? undefined;
    if (!message || message.applicationId !== app.id) throw new ApiError('UNKNOWN_MESSAGE');
    const component = findComponent(message, body.data.custom_id);
    if (!component || component.type !== body.data.component_type || component.disabled === true)
      throw formError(['data', 'custom_id'], 'COMPONENT_INVALID', 'No enabled component with this custom_id');
    data = { custom_id: body.data.custom_id, component_type: body.data.component_type };
    if (body.data.values) data.values = body.data.values;
  }

  const [perms, appPerms] = await Promise.all([
    memberPermissions(storage, body.guild_id, user.id),
    memberPermissions(storage, body.guild_id, app.botUserId),
  ]);
  const { id, name, type, parent_id, guild_id } = channelJson(channel);
  const base: JsonObject = {
    application_id: app.id,
    type: body.type,
    data,
    guild_id: body.guild_id,
    guild: { id: body.guild_id, locale: 'en-US', features: [] },
    channel_id: body.channel_id,
    channel: { id, name, type, parent_id, guild_id, permissions: perms, flags: 0 },
    member: { ...(memberJson(member, user) as unknown as JsonObject), permissions: perms },
    version: 1,
    app_permissions: appPerms,
    locale: 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': body.guild_id },
    context: 0,
    attachment_size_limit: 25 * 1024 * 1024,
  };
  if (message) base.message = messageJson(message, await storage.getUser(message.authorId)) as unknown as JsonObject;
  return { app, command, message, data, base };
}

function findComponent(m: StoredMessage, customId: string): { type: number; disabled?: boolean } | null {
  for (const row of m.components ?? []) {
    const items = (row.components ?? []) as JsonValue[];
    for (const c of items) {
      const o = c as { custom_id?: string; type?: number; disabled?: boolean };
      if (o.custom_id === customId && typeof o.type === 'number') return { type: o.type, disabled: o.disabled };
    }
  }
  return null;
}
