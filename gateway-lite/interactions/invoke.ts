/**
 * A user's invocation (POST /api/v10/interactions): checked (member of the guild, channel in it, a command of the
 * application that is global or of this guild, the member holding its `default_member_permissions`, options valid
 * — for autocomplete, one of them focused; for a component, a message the application sent that carries that
 * custom_id; for a modal submit, the modal shown to this user) and turned into the interaction object Discord sends
 * to apps.
 */
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
import type { InvokeBody } from './invoke-body.ts';
import { checkSubmit, type ShownModal } from './modals.ts';
import { OptionResolver } from './options.ts';
import { mayInvoke, permissionsOf } from './permissions.ts';

/** Where prepareInvocation finds messages (stored or ephemeral) and the modals shown to users. */
export interface Lookups {
  findMessage(channelId: string, messageId: string): Promise<StoredMessage | null>;
  findModal(applicationId: string, userId: string, customId: string): Promise<ShownModal | null>;
}

export interface Prepared {
  app: StoredApplication;
  command?: StoredCommand;
  message?: StoredMessage;
  /** The interaction's `data`. */
  data: JsonObject;
  /** Everything of the interaction object but id and token. */
  base: JsonObject;
  /** Autocomplete: the focused option's type. */
  focusedType?: number;
  /** Modal submit: the modal it answers. */
  modal?: ShownModal;
}

/** Validates an invocation and builds the interaction (minus id/token); throws Discord's errors. */
export async function prepareInvocation(
  storage: Storage,
  user: StoredUser,
  body: InvokeBody,
  { findMessage, findModal }: Lookups,
): Promise<Prepared> {
  // Every row the checks need, read at once: the application's bot is looked up under the application's id (the
  // convention applications are created with) and read again only if the application says otherwise.
  const isCommand = body.type === 2 || body.type === 4;
  const [channel, member, app, guild, roles, appBot, found] = await Promise.all([
    storage.getChannel(body.channel_id),
    storage.getMember(body.guild_id, user.id),
    storage.apps.getApplication(body.application_id),
    storage.getGuild(body.guild_id),
    storage.listRoles(body.guild_id),
    storage.getMember(body.guild_id, body.application_id),
    isCommand ? storage.apps.getCommand(body.application_id, body.data.id) : null,
  ]);
  if (!channel || channel.guildId !== body.guild_id) throw new ApiError('UNKNOWN_CHANNEL');
  if (!member) throw new ApiError('MISSING_ACCESS');
  if (!app) throw new ApiError('UNKNOWN_APPLICATION');
  const botMember =
    app.botUserId === body.application_id ? appBot : await storage.getMember(body.guild_id, app.botUserId);
  // The application's bot must be in the guild for the guild to have its commands.
  if (!botMember) throw new ApiError('UNKNOWN_APPLICATION');

  const perms = permissionsOf(guild, member, roles);
  const appPerms = permissionsOf(guild, botMember, roles);
  let data: JsonObject;
  let command: StoredCommand | undefined;
  let message: StoredMessage | undefined;
  let focusedType: number | undefined;
  let modal: ShownModal | undefined;
  const resolver = new OptionResolver(storage, body.guild_id);
  if (body.type === 2 || body.type === 4) {
    command = found ?? undefined;
    if (!command || (command.guildId !== null && command.guildId !== body.guild_id))
      throw new ApiError('UNKNOWN_COMMAND');
    const dmp = command.data.default_member_permissions as string | null | undefined;
    if (!mayInvoke(dmp, perms)) throw new ApiError('MISSING_PERMISSIONS');
    if (body.type === 4 && command.type !== 1)
      throw formError(
        ['data', 'id'],
        'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
        'Only chat input commands autocomplete',
      );
    data = { id: command.id, name: command.name, type: command.type };
    if (command.guildId) data.guild_id = command.guildId;
    if (command.type === 1) {
      const defined = (command.data.options ?? []) as unknown as Parameters<OptionResolver['check']>[0];
      const options = await resolver.check(defined, body.data.options ?? [], body.type === 4);
      if (options.length) data.options = options;
      focusedType = resolver.focused?.type;
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
  } else if (body.type === 5) {
    modal = (await findModal(app.id, user.id, body.data.custom_id)) ?? undefined;
    // Only the modal shown to this user, in this channel, still open (and the one named by data.id, when sent).
    if (
      !modal ||
      modal.guildId !== body.guild_id ||
      modal.channelId !== body.channel_id ||
      (body.data.id !== undefined && body.data.id !== modal.id)
    )
      throw new ApiError('UNKNOWN_INTERACTION', 'Unknown modal: it was never shown to you here, or has expired');
    data = checkSubmit(modal, body.data);
    if (modal.messageId) message = (await findMessage(body.channel_id, modal.messageId)) ?? undefined;
  } else {
    message = (await findMessage(body.channel_id, body.message_id)) ?? undefined;
    if (!message || message.applicationId !== app.id) throw new ApiError('UNKNOWN_MESSAGE');
    const component = findComponent(message, body.data.custom_id);
    if (!component || component.type !== body.data.component_type || component.disabled === true)
      throw formError(['data', 'custom_id'], 'COMPONENT_INVALID', 'No enabled component with this custom_id');
    data = { custom_id: body.data.custom_id, component_type: body.data.component_type };
    if (body.data.values) data.values = body.data.values;
  }

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
  return { app, command, message, data, base, focusedType, modal };
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
