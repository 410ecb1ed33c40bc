import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Interaction,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from './rest-helpers.ts';
import { RawClient, startGatewayTestNode, until, type Frame } from './gateway-helpers.ts';
import { botAndUser, userCall } from './interactions-helpers.ts';

/**
 * The real discord.js 14 bot on Resound's v10 gateway: it registers guild commands, a user's gateway session invokes
 * them, `interactionCreate` fires and reply / deferReply+editReply / followUp / an ephemeral reply reach the user's
 * session as MESSAGE_CREATE/UPDATE in Discord's shapes; a button on a reply, clicked by the user, reaches the bot and
 * `interaction.update()` edits the message; autocomplete (`respond()`) reaches the typing user's session as
 * APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE, and `showModal()` as INTERACTION_MODAL_CREATE, whose submit the bot reads
 * with `fields.getTextInputValue()`.
 */
let t: TestNode;
let client: Client;
let user: RawClient;
let commands: Map<string, string>;
const seenByBot: string[] = [];

beforeAll(async () => {
  // A 30 s heartbeat: the raw user session below does not beat, discord.js does.
  t = await startGatewayTestNode({
    GATEWAY_LITE_INTERACTIONS_ALLOW: '127.0.0.1/32',
    GATEWAY_LITE_HEARTBEAT_MS: '30000',
  });
  client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: t.api } });
  client.on(Events.MessageCreate, (m) => seenByBot.push(m.content));
  client.on(Events.InteractionCreate, (i: Interaction) => void answer(i));
  ({ commands, user } = await botAndUser(t, client, [
    {
      name: 'hello',
      description: 'Says hello',
      options: [{ type: 3, name: 'name', description: 'Who', required: true }],
    },
    { name: 'slow', description: 'Defers, then edits' },
    { name: 'more', description: 'Replies and follows up' },
    { name: 'secret', description: 'Only you can see it' },
    { name: 'button', description: 'A button to click' },
    {
      name: 'fruit',
      description: 'Autocompletes a fruit',
      options: [{ type: 3, name: 'kind', description: 'Which', required: true, autocomplete: true }],
    },
    { name: 'feedback', description: 'Opens a form' },
  ]));
}, 60_000);

afterAll(async () => {
  user?.close();
  await client?.destroy();
  await t?.close();
});

const FRUIT = ['apple', 'apricot', 'banana', 'cherry'];
const focusedSeen: string[] = [];

async function answer(i: Interaction): Promise<void> {
  if (i.isAutocomplete()) {
    const typed = i.options.getFocused();
    focusedSeen.push(typed);
    await i.respond(FRUIT.filter((f) => f.startsWith(typed)).map((f) => ({ name: f.toUpperCase(), value: f })));
    return;
  }
  if (i.isModalSubmit()) {
    await i.reply(`thanks for "${i.fields.getTextInputValue('opinion')}" (${i.customId})`);
    return;
  }
  if (i.isChatInputCommand() && i.commandName === 'feedback') {
    const opinion = new TextInputBuilder()
      .setCustomId('opinion')
      .setLabel('Your opinion')
      .setStyle(TextInputStyle.Paragraph)
      .setMaxLength(200);
    const modal = new ModalBuilder()
      .setCustomId('feedback-form')
      .setTitle('Feedback')
      .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(opinion));
    await i.showModal(modal);
    return;
  }
  if (i.isButton()) {
    await i.update({ content: `clicked by ${i.user.id}`, components: [] });
    return;
  }
  if (!i.isChatInputCommand()) return;
  switch (i.commandName) {
    case 'hello':
      await i.reply(
        `hello ${i.options.getString('name', true)} in #${i.channel?.id === t.seed.textChannelId ? 'general' : '?'}`,
      );
      return;
    case 'slow':
      await i.deferReply();
      await i.editReply('slow answer');
      return;
    case 'more':
      await i.reply('first');
      await i.followUp('second');
      return;
    case 'secret':
      await i.reply({ content: 'psst', flags: MessageFlags.Ephemeral });
      return;
    case 'button': {
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('press').setLabel('Press').setStyle(ButtonStyle.Primary),
      );
      await i.reply({ content: 'press it', components: [row] });
    }
  }
}

const invoke = (name: string, options?: unknown[]) =>
  userCall(t, 'POST', '/interactions', {
    type: 2,
    application_id: t.seed.applicationId,
    guild_id: t.seed.guildId,
    channel_id: t.seed.textChannelId,
    nonce: name,
    data: { id: commands.get(name), name, ...(options ? { options } : {}) },
  });

type Msg = {
  id: string;
  content: string;
  flags: number;
  type: number;
  author: { id: string };
  interaction_metadata: Record<string, unknown>;
  components: unknown[];
};
const msgFrame = (t: string, pred: (m: Msg) => boolean) => (f: Frame) => f.t === t && pred(f.d as Msg);

describe('discord.js bot ↔ user session through interactions', () => {
  it('registers guild commands with discord.js (guild.commands.set)', () => {
    expect([...commands.keys()].sort()).toEqual(['button', 'feedback', 'fruit', 'hello', 'more', 'secret', 'slow']);
    expect(client.application?.id).toBe(t.seed.applicationId);
  });

  it('interaction.reply() reaches the user session with interaction_metadata', async () => {
    const r = await invoke('hello', [{ name: 'name', type: 3, value: 'ada' }]);
    expect(r.status).toBe(204);
    const f = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'hello ada in #general'),
      'reply',
    );
    const m = f.d as Msg & Record<string, unknown>;
    expect(m).toMatchObject({
      type: 20,
      channel_id: t.seed.textChannelId,
      guild_id: t.seed.guildId,
      author: { id: t.seed.botId, bot: true },
      application_id: t.seed.applicationId,
      webhook_id: t.seed.applicationId,
      interaction_metadata: { type: 2, name: 'hello', command_type: 1, user: { id: t.seed.ownerId } },
    });
    const ok = await user.next(
      (x) => x.t === 'INTERACTION_SUCCESS' && (x.d as { nonce: string }).nonce === 'hello',
      'success',
    );
    expect((ok.d as { id: string }).id).toBe(m.interaction_metadata.id);
  });

  it('deferReply() shows a loading message that editReply() fills', async () => {
    await invoke('slow');
    const loading = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.interaction_metadata?.name === 'slow'),
      'loading',
    );
    expect((loading.d as Msg).flags & 128).toBe(128);
    const filled = await user.next(
      msgFrame('MESSAGE_UPDATE', (m) => m.id === (loading.d as Msg).id && m.content === 'slow answer'),
      'edit',
    );
    expect((filled.d as Msg).flags & 128).toBe(0);
  });

  it('followUp() adds a second message after the reply', async () => {
    await invoke('more');
    const first = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'first'),
      'first',
    );
    const second = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'second'),
      'second',
    );
    expect((second.d as Msg).id).not.toBe((first.d as Msg).id);
    expect((second.d as Msg).interaction_metadata).toMatchObject({ name: 'more' });
  });

  it('an ephemeral reply reaches only the invoking user', async () => {
    await invoke('secret');
    const f = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'psst'),
      'ephemeral',
    );
    expect((f.d as Msg).flags & 64).toBe(64);
    await user.next((x) => x.t === 'INTERACTION_SUCCESS' && (x.d as { nonce: string }).nonce === 'secret', 'success');
    expect(seenByBot).not.toContain('psst');
    expect(seenByBot).toContain('first'); // the bot does see its ordinary replies
  });

  it('a button on the reply, clicked by the user, reaches the bot and interaction.update() edits the message', async () => {
    await invoke('button');
    const f = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'press it'),
      'button message',
    );
    const m = f.d as Msg;
    expect(m.components).toEqual([
      { type: 1, components: [{ type: 2, style: 1, label: 'Press', custom_id: 'press' }] },
    ]);
    const click = await userCall(t, 'POST', '/interactions', {
      type: 3,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      message_id: m.id,
      nonce: 'click',
      data: { component_type: 2, custom_id: 'press' },
    });
    expect(click.status).toBe(204);
    const upd = await user.next(
      msgFrame('MESSAGE_UPDATE', (x) => x.id === m.id),
      'update',
    );
    expect(upd.d).toMatchObject({ content: `clicked by ${t.seed.ownerId}`, components: [] });
    await until(
      () => user.dispatches('INTERACTION_SUCCESS').some((x) => (x.d as { nonce: string }).nonce === 'click'),
      'click success',
    );
  });

  it('autocomplete: isAutocomplete(), getFocused() is the typed text, respond() reaches the typing user', async () => {
    const r = await userCall(t, 'POST', '/interactions', {
      type: 4,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      nonce: 'typing-ap',
      data: {
        id: commands.get('fruit'),
        name: 'fruit',
        options: [{ name: 'kind', type: 3, value: 'ap', focused: true }],
      },
    });
    expect(r.status).toBe(204);
    const f = await user.next(
      (x) => x.t === 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE' && (x.d as { nonce: string }).nonce === 'typing-ap',
      'autocomplete response',
    );
    expect(f.d).toEqual({
      nonce: 'typing-ap',
      choices: [
        { name: 'APPLE', value: 'apple' },
        { name: 'APRICOT', value: 'apricot' },
      ],
    });
    expect(focusedSeen).toEqual(['ap']);
  });

  it('showModal() reaches the user as INTERACTION_MODAL_CREATE; the submit reaches the bot, whose reply is in the channel', async () => {
    expect((await invoke('feedback')).status).toBe(204);
    const shown = await user.next((x) => x.t === 'INTERACTION_MODAL_CREATE', 'modal');
    const modal = shown.d as { id: string; custom_id: string; title: string; components: unknown[] };
    expect(modal).toMatchObject({
      nonce: 'feedback',
      custom_id: 'feedback-form',
      title: 'Feedback',
      components: [
        {
          type: 1,
          components: [{ type: 4, custom_id: 'opinion', label: 'Your opinion', style: 2, max_length: 200 }],
        },
      ],
    });
    const submit = await userCall(t, 'POST', '/interactions', {
      type: 5,
      application_id: t.seed.applicationId,
      guild_id: t.seed.guildId,
      channel_id: t.seed.textChannelId,
      nonce: 'submit',
      data: {
        id: modal.id,
        custom_id: 'feedback-form',
        components: [{ type: 1, components: [{ type: 4, custom_id: 'opinion', value: 'works great' }] }],
      },
    });
    expect(submit.status).toBe(204);
    const reply = await user.next(
      msgFrame('MESSAGE_CREATE', (m) => m.content === 'thanks for "works great" (feedback-form)'),
      'modal reply',
    );
    expect((reply.d as Msg).interaction_metadata).toMatchObject({
      type: 5,
      user: { id: t.seed.ownerId },
      triggering_interaction_metadata: { id: modal.id, type: 2, name: 'feedback' },
    });
    await until(() => seenByBot.includes('thanks for "works great" (feedback-form)'), 'the reply in the channel');
  });
});
