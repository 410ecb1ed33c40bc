import type { FastifyInstance } from 'fastify';
import { botOf, type RestContext } from './context.ts';
import { readMessageRequest } from './uploads.ts';
import { snowflakeParams } from './validate.ts';

const isTrue = (v: unknown) => v === 'true' || v === '1';

/**
 * Interactions: the user-side invocation (POST /interactions, Resound's client endpoint), the application's callback
 * (POST /interactions/{id}/{token}/callback) and its webhook token routes (follow-ups, @original) — the latter two
 * authenticated by the token in the path, not by a bot token, and rate limited as the webhook. The callback, follow-ups
 * and edits take files like POST /channels/{id}/messages does (multipart `payload_json` + `files[n]`, uploads.ts).
 */
export function registerInteractionRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.post('/interactions', async (req, reply) => {
    const inv = await ctx.interactions.invoke(botOf(req), req.body);
    if (!isTrue((req.query as { wait?: string }).wait)) return reply.code(204).send();
    const outcome = await inv.done;
    return { id: inv.id, nonce: inv.nonce ?? null, ...outcome };
  });

  app.post('/interactions/:interaction_id/:interaction_token/callback', async (req, reply) => {
    const p = req.params as { interaction_id: string; interaction_token: string };
    const { interaction_id } = snowflakeParams({ interaction_id: p.interaction_id });
    const withResponse = isTrue((req.query as { with_response?: string }).with_response);
    const { payload, upload } = await readMessageRequest(req, ctx);
    const res = await ctx.interactions.callback(interaction_id, p.interaction_token, payload, withResponse, upload);
    return res ? res : reply.code(204).send();
  });

  const hook = '/webhooks/:application_id/:interaction_token';
  const record = async (params: unknown) => {
    const p = params as { application_id: string; interaction_token: string };
    snowflakeParams({ application_id: p.application_id });
    return ctx.interactions.webhooks.webhook(p.application_id, p.interaction_token);
  };
  const messageId = (params: unknown) => {
    const id = (params as { message_id: string }).message_id;
    return id === '@original' ? id : snowflakeParams({ message_id: id }).message_id;
  };

  app.post(hook, async (req) => {
    const rec = await record(req.params);
    const { payload, upload } = await readMessageRequest(req, ctx);
    const m = await ctx.interactions.webhooks.followUp(rec, payload, upload);
    return ctx.interactions.messages.json(m);
  });

  app.get(`${hook}/messages/:message_id`, async (req) => {
    const rec = await record(req.params);
    const id = await ctx.interactions.webhooks.resolveMessageId(rec, messageId(req.params));
    return ctx.interactions.messages.json(await ctx.interactions.messages.get(rec, id));
  });

  app.patch(`${hook}/messages/:message_id`, async (req) => {
    const rec = await record(req.params);
    const { payload, upload } = await readMessageRequest(req, ctx);
    const m = await ctx.interactions.webhooks.editWebhookMessage(rec, messageId(req.params), payload, upload);
    return ctx.interactions.messages.json(m);
  });

  app.delete(`${hook}/messages/:message_id`, async (req, reply) => {
    const rec = await record(req.params);
    const id = await ctx.interactions.webhooks.resolveMessageId(rec, messageId(req.params));
    await ctx.interactions.messages.delete(rec, id);
    return reply.code(204).send();
  });
}
