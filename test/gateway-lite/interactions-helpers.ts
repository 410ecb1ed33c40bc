/** Shared pieces of the interactions suites: a node that may call loopback endpoints, a user, an HTTP app. */
import http from 'node:http';
import { REST } from '@discordjs/rest';
import { Events, GatewayIntentBits, type ApplicationCommandDataResolvable, type Client } from 'discord.js';
import type { GatewayDispatch } from '../../gateway-lite/index.ts';
import { mintBotToken } from '../../gateway-lite/rest/auth.ts';
import { RawClient } from './gateway-helpers.ts';
import { startTestNode, type TestNode } from './rest-helpers.ts';

export async function startInteractionsNode(env: Record<string, string> = {}): Promise<TestNode> {
  return startTestNode({ GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32', ...env });
}

/**
 * Logs `client` (a discord.js bot built by the suite, its handlers attached) in to the node, registers `defs` as the
 * seeded guild's commands and opens the seeded user's raw gateway session (guilds + guild messages): the command ids
 * by name and that session.
 */
export async function botAndUser(
  t: TestNode,
  client: Client,
  defs: ApplicationCommandDataResolvable[],
): Promise<{ commands: Map<string, string>; user: RawClient }> {
  const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
  await client.login(t.seed.token);
  await ready;
  const guild = await client.guilds.fetch(t.seed.guildId);
  const set = await guild.commands.set(defs);
  const commands = new Map([...set.values()].map((c) => [c.name, c.id]));
  const user = new RawClient(t.node.gatewayUrl);
  await user.opened;
  // No MESSAGE_CONTENT: it gates apps only, so the user's session must still see the replies' content.
  await user.identify(t.seed.userToken, { intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages });
  return { commands, user };
}

export function botRest(t: TestNode): REST {
  return new REST({ api: t.api, version: '10' }).setToken(t.seed.token);
}

/**
 * The seeded owner (or the user whose token is given), acting as a user client: a bare Authorization header, like
 * Discord's clients send.
 */
export async function userCall(
  t: TestNode,
  method: string,
  path: string,
  body?: unknown,
  token = t.seed.userToken,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${t.api}/v10${path}`, {
    method,
    headers: { authorization: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** Invoke a command as the seeded user and wait for its outcome (`?wait=true`). */
export function invokeCommand(
  t: TestNode,
  commandId: string,
  options?: Array<{ name: string; type: number; value: unknown }>,
  extra: Record<string, unknown> = {},
) {
  return userCall(t, 'POST', '/interactions?wait=true', {
    type: 2,
    application_id: t.seed.applicationId,
    guild_id: t.seed.guildId,
    channel_id: t.seed.textChannelId,
    nonce: String(Date.now()),
    data: { id: commandId, ...(options ? { options } : {}), ...extra },
  });
}

/** A new (non-bot) user, member of the seeded guild with these roles; returns the id and a user token. */
export async function addGuildUser(
  t: TestNode,
  username: string,
  roleIds: string[] = [],
): Promise<{ id: string; token: string }> {
  const id = String(BigInt(t.seed.guildId) + 1000n + BigInt(++userSerial));
  const { token, tokenHash } = mintBotToken(id);
  await t.node.storage.upsertUser({ id, username, globalName: null, avatar: null, bot: false, tokenHash });
  await t.node.storage.upsertMember({ guildId: t.seed.guildId, userId: id, nick: null, roleIds, joinedAt: Date.now() });
  return { id, token };
}
let userSerial = 0;

/** Every dispatch published on the node's bus, with a waiter. */
export class BusTap {
  readonly events: GatewayDispatch[] = [];
  private readonly off: () => void;
  private waiters: Array<{ pred: (e: GatewayDispatch) => boolean; resolve: (e: GatewayDispatch) => void }> = [];

  constructor(t: TestNode) {
    this.off = t.node.bus.subscribe((e) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    });
  }

  next(pred: (e: GatewayDispatch) => boolean): Promise<GatewayDispatch> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** The MESSAGE_CREATE an interaction's deferral published (its "thinking…" message), as published. */
  async loading(interactionId: unknown): Promise<{ id: string; flags: number }> {
    const e = await this.next(
      (x) =>
        x.t === 'MESSAGE_CREATE' &&
        (x.d as { interaction_metadata?: { id: string } }).interaction_metadata?.id === interactionId,
    );
    return e.d as { id: string; flags: number };
  }

  close(): void {
    this.off();
  }
}

export { startHttpApp, type HttpApp } from '../../testkit/index.ts';

export function json(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export const PING_COMMAND = {
  name: 'ping',
  description: 'Replies with pong',
  options: [
    {
      type: 3,
      name: 'word',
      description: 'What to say',
      required: true,
      choices: [
        { name: 'Hi', value: 'hi' },
        { name: 'Yo', value: 'yo' },
      ],
    },
    { type: 4, name: 'times', description: 'How many', min_value: 1, max_value: 5 },
    { type: 5, name: 'loud', description: 'Shout it' },
    { type: 6, name: 'who', description: 'Someone' },
    { type: 7, name: 'where', description: 'A channel', channel_types: [0] },
  ],
};
