/**
 * An unmodified discord.js 14 `Client` (its own REST and its bundled @discordjs/ws) against the gateway: it logs in,
 * builds its guild/channel/member caches from READY + GUILD_CREATE, sends a message through REST and sees it arrive
 * as messageCreate, and sees a channel created through REST as channelCreate.
 */
import {
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  type Message,
  type NonThreadGuildBasedChannel,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { startGatewayTestNode } from './gateway-helpers.ts';

describe('discord.js Client against the gateway', () => {
  let t: TestNode;
  let client: Client;

  beforeAll(async () => {
    t = await startGatewayTestNode();
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: t.api },
    });
    const ready = new Promise<void>((res) => client.once(Events.ClientReady, () => res()));
    await client.login(t.seed.token);
    await ready;
  });

  afterAll(async () => {
    await client?.destroy();
    await t?.close();
  });

  it('builds its caches from READY and GUILD_CREATE', () => {
    expect(client.user?.id).toBe(t.seed.botId);
    expect(client.application?.id).toBe(t.seed.botId);
    const guild = client.guilds.cache.get(t.seed.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.name).toBe('Resound');
    expect(guild?.memberCount).toBe(2);
    expect(guild?.channels.cache.get(t.seed.textChannelId)?.type).toBe(ChannelType.GuildText);
    expect(guild?.channels.cache.get(t.seed.voiceChannelId)?.type).toBe(ChannelType.GuildVoice);
    expect(guild?.members.me?.id).toBe(t.seed.botId);
    expect(guild?.roles.everyone.id).toBe(t.seed.guildId);
  });

  it('sends a message and receives it as messageCreate; a new channel arrives as channelCreate', async () => {
    const channel = client.channels.cache.get(t.seed.textChannelId);
    if (!channel?.isTextBased() || !channel.isSendable()) throw new Error('text channel not cached');
    const seen = new Promise<Message>((res) =>
      client.on(Events.MessageCreate, (m) => m.content === 'hello from discord.js' && res(m)),
    );
    const sent = await channel.send('hello from discord.js');
    const got = await seen;
    expect(got.id).toBe(sent.id);
    expect(got.guild?.id).toBe(t.seed.guildId);
    expect(got.author.id).toBe(t.seed.botId);
    const created = new Promise<NonThreadGuildBasedChannel>((res) => client.on(Events.ChannelCreate, res));
    const guild = client.guilds.cache.get(t.seed.guildId)!;
    const made = await guild.channels.create({ name: 'from-djs' });
    expect((await created).id).toBe(made.id);
  });
});
