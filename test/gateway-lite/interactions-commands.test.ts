import { Routes } from 'discord-api-types/v10';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, uniqueSchema } from './storage-helpers.ts';
import type { TestNode } from './rest-helpers.ts';
import { PING_COMMAND, botRest, invokeCommand, startInteractionsNode } from './interactions-helpers.ts';

type Err = { status: number; code: number; rawError: { errors: Record<string, unknown> } };
const caught = (p: Promise<unknown>) => p.then(() => null).catch((e: unknown) => e as Err);

/** Application commands over REST (@discordjs/rest) on both storage backends, with Discord's shapes and 50035s. */
describe.each(['sqlite', 'postgres'] as const)('application commands on %s', (kind) => {
  let t: TestNode;
  const schema = uniqueSchema('ixcmd');

  beforeAll(async () => {
    t = await startInteractionsNode(
      kind === 'postgres' ? { GATEWAY_LITE_STORAGE: 'postgres', DATABASE_URL, GATEWAY_LITE_PG_SCHEMA: schema } : {},
    );
  });
  afterAll(async () => {
    await t.close();
    if (kind === 'postgres') {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  });

  it('creates, lists, edits and deletes global and guild commands (CHAT_INPUT, USER, MESSAGE)', async () => {
    const rest = botRest(t);
    const app = t.seed.applicationId;
    const created = (await rest.post(Routes.applicationCommands(app), { body: PING_COMMAND })) as Record<
      string,
      unknown
    >;
    expect(created).toMatchObject({
      application_id: app,
      type: 1,
      name: 'ping',
      description: 'Replies with pong',
      default_member_permissions: null,
      nsfw: false,
      options: PING_COMMAND.options,
    });
    expect(created.id).toMatch(/^\d{17,20}$/);
    expect(created.version).toMatch(/^\d{17,20}$/);
    expect(created).not.toHaveProperty('guild_id');
    // POST with an existing name overwrites the same command (same id).
    const again = (await rest.post(Routes.applicationCommands(app), {
      body: { ...PING_COMMAND, description: 'Pong!' },
    })) as Record<string, unknown>;
    expect(again.id).toBe(created.id);
    expect(again.description).toBe('Pong!');

    const user = (await rest.post(Routes.applicationGuildCommands(app, t.seed.guildId), {
      body: { name: 'High Five', type: 2 },
    })) as Record<string, unknown>;
    expect(user).toMatchObject({ type: 2, name: 'High Five', description: '', guild_id: t.seed.guildId });
    const msg = (await rest.post(Routes.applicationGuildCommands(app, t.seed.guildId), {
      body: { name: 'Quote', type: 3 },
    })) as Record<string, unknown>;
    expect(msg).toMatchObject({ type: 3, name: 'Quote' });

    const guildList = (await rest.get(Routes.applicationGuildCommands(app, t.seed.guildId))) as Array<{ id: string }>;
    expect(guildList.map((c) => c.id).sort()).toEqual([user.id, msg.id].sort());
    expect(((await rest.get(Routes.applicationCommands(app))) as unknown[]).length).toBe(1);

    const patched = (await rest.patch(Routes.applicationCommand(app, created.id as string), {
      body: { description: 'Edited' },
    })) as Record<string, unknown>;
    expect(patched).toMatchObject({ id: created.id, name: 'ping', description: 'Edited' });
    expect(patched.version).not.toBe(again.version);
    expect(await rest.get(Routes.applicationCommand(app, created.id as string))).toMatchObject({
      description: 'Edited',
    });

    await rest.delete(Routes.applicationGuildCommand(app, t.seed.guildId, msg.id as string));
    const gone = await caught(rest.get(Routes.applicationGuildCommand(app, t.seed.guildId, msg.id as string)));
    expect(gone).toMatchObject({ status: 404, code: 10063 });
    // A global command is not reachable under a guild path.
    expect(
      await caught(rest.get(Routes.applicationGuildCommand(app, t.seed.guildId, created.id as string))),
    ).toMatchObject({
      code: 10063,
    });
  });

  it('bulk overwrite replaces the scope and keeps ids of commands whose name and type match', async () => {
    const rest = botRest(t);
    const path = Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId);
    const before = (await rest.get(path)) as Array<{ id: string; name: string }>;
    const keep = before.find((c) => c.name === 'High Five')!;
    const after = (await rest.put(path, {
      body: [{ name: 'High Five', type: 2 }, PING_COMMAND, { name: 'echo', description: 'Echo', options: [] }],
    })) as Array<{ id: string; name: string }>;
    expect(after.map((c) => c.name)).toEqual(['High Five', 'ping', 'echo']);
    expect(after[0].id).toBe(keep.id);
    const listed = (await rest.get(path)) as Array<{ id: string }>;
    expect(listed.map((c) => c.id).sort()).toEqual(after.map((c) => c.id).sort());
    await rest.put(path, { body: [] });
    expect(await rest.get(path)).toEqual([]);
  });

  it('refuses invalid payloads with the 50035 errors tree and changes nothing', async () => {
    const rest = botRest(t);
    const path = Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId);
    await rest.put(path, { body: [PING_COMMAND] });
    const bad = await caught(
      rest.post(path, {
        body: {
          name: 'Bad Name',
          description: '',
          options: [
            { type: 3, name: 'a', description: 'x' },
            { type: 4, name: 'b', description: 'y', required: true },
            { type: 5, name: 'c', description: 'z', choices: [{ name: 'n', value: 'v' }] },
            { type: 3, name: 'd', description: 'w', autocomplete: true, choices: [{ name: 'n', value: 'v' }] },
            { type: 6, name: 'e', description: 'v', autocomplete: true },
          ],
        },
      }),
    );
    expect(bad).toMatchObject({ status: 400, code: 50035 });
    expect(bad!.rawError.errors).toMatchObject({
      name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME' }] },
      description: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] },
      options: {
        '1': { required: { _errors: [{ code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID' }] } },
        '2': { choices: { _errors: [{ code: 'APPLICATION_COMMAND_OPTION_CHOICES_INVALID' }] } },
        '3': { autocomplete: { _errors: [{ code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID' }] } },
        '4': { autocomplete: { _errors: [{ code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID' }] } },
      },
    });
    const shape = await caught(rest.post(path, { body: { name: 'x'.repeat(40), description: 7, type: 9 } }));
    expect(shape!.rawError.errors).toMatchObject({
      name: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] },
      description: { _errors: [{ code: 'STRING_TYPE_CONVERT' }] },
      type: { _errors: [{ code: 'BASE_TYPE_CHOICES' }] },
    });
    const bulk = await caught(
      rest.put(path, { body: [PING_COMMAND, { name: 'ctx', type: 2, description: 'no' }, PING_COMMAND] }),
    );
    expect(bulk!.rawError.errors).toMatchObject({
      '1': { description: { _errors: [{ code: 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION' }] } },
      '2': { name: { _errors: [{ code: 'APPLICATION_COMMANDS_DUPLICATE_NAME' }] } },
    });
    const listed = (await rest.get(path)) as Array<{ name: string }>;
    expect(listed.map((c) => c.name)).toEqual(['ping']);
    // Another application's commands are out of reach.
    expect(await caught(rest.get(Routes.applicationCommands('1234567890123456789')))).toMatchObject({ code: 50001 });
  });

  it('refuses an invocation whose options fail the command definition', async () => {
    const rest = botRest(t);
    const path = Routes.applicationGuildCommands(t.seed.applicationId, t.seed.guildId);
    const [cmd] = (await rest.put(path, { body: [PING_COMMAND] })) as Array<{ id: string }>;
    const r = await invokeCommand(t, cmd.id, [
      { name: 'word', type: 3, value: 'nope' },
      { name: 'times', type: 4, value: 9 },
      { name: 'loud', type: 5, value: 'yes' },
      { name: 'who', type: 6, value: '1234567890123456789' },
    ]);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 50035,
      errors: {
        data: {
          options: {
            '0': { value: { _errors: [{ code: 'BASE_TYPE_CHOICES' }] } },
            '1': { value: { _errors: [{ code: 'NUMBER_TYPE_MAX' }] } },
            '2': { value: { _errors: [{ code: 'BOOLEAN_TYPE_CONVERT' }] } },
            '3': { value: { _errors: [{ code: 'APPLICATION_COMMAND_OPTION_UNKNOWN_USER' }] } },
          },
        },
      },
    });
    const missing = await invokeCommand(t, cmd.id, []);
    expect(missing.body).toMatchObject({
      code: 50035,
      errors: { data: { options: { word: { _errors: [{ code: 'BASE_TYPE_REQUIRED' }] } } } },
    });
    const unknown = await invokeCommand(t, '1234567890123456789');
    expect(unknown).toMatchObject({ status: 404, body: { code: 10063 } });
  });
});
