import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { applicationJson, commandJson, ensureApplication } from '../interactions/applications.ts';
import { bulkBody, checkCommand, commandBody, commandPatch, type CommandBody } from '../interactions/command-schema.ts';
import type { JsonObject, StoredApplication, StoredCommand } from '../storage/types.ts';
import { botOf, requireGuild, type RestContext } from './context.ts';
import { ApiError, type FieldErrors } from './errors.ts';
import { parse, snowflakeParams } from './validate.ts';

/** Discord's per-scope caps: 100 CHAT_INPUT, 5 USER and 5 MESSAGE commands. */
const CAPS: Record<number, number> = { 1: 100, 2: 5, 3: 5 };

const patchAppBody = z.object({
  description: z.string().max(400).optional(),
  interactions_endpoint_url: z.string().max(2048).nullable().optional(),
  flags: z.number().int().min(0).optional(),
});

const DUPLICATE = 'Application command names must be unique';

type Scope = { app: StoredApplication; guildId: string | null };

/** /applications/@me and application commands (global and per guild): list, create, get, edit, delete, overwrite. */
export function registerApplicationRoutes(app: FastifyInstance, ctx: RestContext): void {
  const own = async (req: FastifyRequest): Promise<Scope> => {
    const p = req.params as { application_id: string; guild_id?: string };
    snowflakeParams({ application_id: p.application_id });
    if (p.guild_id !== undefined) snowflakeParams({ guild_id: p.guild_id });
    const bot = botOf(req);
    if (!bot.bot) throw new ApiError('MISSING_ACCESS');
    const a = await ensureApplication(ctx.storage, bot);
    if (a.id !== p.application_id) throw new ApiError('MISSING_ACCESS');
    if (p.guild_id) await requireGuild(ctx, p.guild_id, bot.id);
    return { app: a, guildId: p.guild_id ?? null };
  };
  const json = async (a: StoredApplication) =>
    applicationJson(a, await ctx.storage.getUser(a.botUserId), await ctx.storage.getUser(a.ownerId));

  app.get('/applications/@me', async (req) => {
    const bot = botOf(req);
    if (!bot.bot) throw new ApiError('MISSING_ACCESS');
    return json(await ensureApplication(ctx.storage, bot));
  });

  app.patch('/applications/@me', async (req) => {
    const bot = botOf(req);
    if (!bot.bot) throw new ApiError('MISSING_ACCESS');
    const body = parse(patchAppBody, req.body ?? {});
    const a = await ensureApplication(ctx.storage, bot);
    const next = { ...a };
    if (body.description !== undefined) next.description = body.description;
    if (body.flags !== undefined) next.flags = body.flags;
    if (body.interactions_endpoint_url !== undefined) {
      const url = body.interactions_endpoint_url || null;
      if (url) await ctx.interactions.verifyEndpoint(next, url);
      next.interactionsEndpointUrl = url;
    }
    await ctx.storage.apps.upsertApplication(next);
    return json(next);
  });

  for (const base of [
    '/applications/:application_id/commands',
    '/applications/:application_id/guilds/:guild_id/commands',
  ]) {
    app.get(base, async (req) => {
      const s = await own(req);
      return (await ctx.storage.apps.listCommands(s.app.id, s.guildId)).map(commandJson);
    });

    app.post(base, async (req, reply) => {
      const s = await own(req);
      const body = valid(req.body);
      const existing = await ctx.storage.apps.listCommands(s.app.id, s.guildId);
      const same = existing.find((c) => c.name === body.name && c.type === (body.type ?? 1));
      if (!same && existing.filter((c) => c.type === (body.type ?? 1)).length >= CAPS[body.type ?? 1])
        throw new ApiError('TOO_MANY_COMMANDS');
      const cmd = toStored(ctx, s, body, same);
      await ctx.storage.apps.upsertCommand(cmd);
      return reply.code(same ? 200 : 201).send(commandJson(cmd));
    });

    app.put(base, async (req) => {
      const s = await own(req);
      const list = parse(bulkBody, req.body);
      const errors: FieldErrors = {};
      const names = new Set<string>();
      const counts: Record<number, number> = { 1: 0, 2: 0, 3: 0 };
      list.forEach((b, i) => {
        checkCommand(b, errors, [i]);
        const key = `${b.type ?? 1}:${b.name}`;
        if (names.has(key)) {
          const node = (errors[String(i)] ??= {}) as FieldErrors;
          node.name = { _errors: [{ code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: DUPLICATE }] };
        }
        names.add(key);
        counts[b.type ?? 1]++;
      });
      if (Object.keys(errors).length) throw new ApiError('INVALID_FORM_BODY', undefined, errors);
      for (const t of [1, 2, 3]) if (counts[t] > CAPS[t]) throw new ApiError('TOO_MANY_COMMANDS');
      const existing = await ctx.storage.apps.listCommands(s.app.id, s.guildId);
      // Overwriting keeps a command's id when its name and type match (Discord does the same).
      const cmds = list.map((b) =>
        toStored(
          ctx,
          s,
          b,
          existing.find((c) => c.name === b.name && c.type === (b.type ?? 1)),
        ),
      );
      await ctx.storage.apps.replaceCommands(s.app.id, s.guildId, cmds);
      return cmds.map(commandJson);
    });

    app.get(`${base}/:command_id`, async (req) => commandJson(await scoped(ctx, await own(req), req)));

    app.patch(`${base}/:command_id`, async (req) => {
      const s = await own(req);
      const cur = await scoped(ctx, s, req);
      const patch = parse(commandPatch, req.body ?? {});
      const merged = valid({ ...cur.data, name: cur.name, type: cur.type, ...patch });
      if (merged.type !== undefined && merged.type !== cur.type)
        throw new ApiError('INVALID_FORM_BODY', undefined, {
          type: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: 'A command type cannot change' }] },
        });
      const clash = (await ctx.storage.apps.listCommands(s.app.id, s.guildId)).find(
        (c) => c.id !== cur.id && c.name === merged.name && c.type === cur.type,
      );
      if (clash)
        throw new ApiError('INVALID_FORM_BODY', undefined, {
          name: { _errors: [{ code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: DUPLICATE }] },
        });
      const cmd = toStored(ctx, s, merged, cur, true);
      await ctx.storage.apps.upsertCommand(cmd);
      return commandJson(cmd);
    });

    app.delete(`${base}/:command_id`, async (req, reply: FastifyReply) => {
      const s = await own(req);
      const cur = await scoped(ctx, s, req);
      await ctx.storage.apps.deleteCommand(s.app.id, cur.id);
      return reply.code(204).send();
    });
  }
}

function valid(raw: unknown): CommandBody {
  const body = parse(commandBody, raw);
  const errors: FieldErrors = {};
  checkCommand(body, errors);
  if (Object.keys(errors).length) throw new ApiError('INVALID_FORM_BODY', undefined, errors);
  return body;
}

async function scoped(ctx: RestContext, s: Scope, req: FastifyRequest): Promise<StoredCommand> {
  const { command_id } = snowflakeParams({ command_id: (req.params as { command_id: string }).command_id });
  const c = await ctx.storage.apps.getCommand(s.app.id, command_id);
  if (!c || c.guildId !== s.guildId) throw new ApiError('UNKNOWN_COMMAND');
  return c;
}

function toStored(
  ctx: RestContext,
  s: Scope,
  b: CommandBody & { id?: string },
  prev: StoredCommand | undefined,
  forceVersion = false,
): StoredCommand {
  const { name, type, ...rest } = b;
  delete (rest as { id?: string }).id;
  const data = JSON.parse(JSON.stringify(rest)) as JsonObject;
  const unchanged = prev && !forceVersion && JSON.stringify(prev.data) === JSON.stringify(data);
  return {
    id: prev?.id ?? ctx.newId(),
    applicationId: s.app.id,
    guildId: s.guildId,
    name,
    type: type ?? 1,
    version: unchanged ? prev.version : ctx.newId(),
    data,
  };
}
