/**
 * The options a user sends with a CHAT_INPUT invocation, checked against the command's definition (names, types,
 * choices, bounds, required) and resolved (users, members, channels) the way Discord fills `data.resolved`.
 * Failures are 50035 with the tree under `data.options`. An autocomplete request is a command still being typed:
 * exactly one option is `focused` (its partial text, a string whatever the option's type, is not checked against
 * bounds or choices, and its definition must have `autocomplete: true`), required options may still be missing, and
 * the other options are validated as usual but left out, not refused, when invalid (Discord's documented behaviour).
 */
import { ApiError, type FieldErrors } from '../rest/errors.ts';
import { channelJson, memberJson, userJson } from '../rest/serialize.ts';
import type { JsonObject, JsonValue, Storage, Snowflake } from '../storage/types.ts';
import { OptionType } from './command-schema.ts';

export interface SentOption {
  name: string;
  type?: number;
  value?: JsonValue;
  options?: SentOption[];
  focused?: boolean;
}

interface DefinedOption {
  type: number;
  name: string;
  required?: boolean;
  choices?: Array<{ name: string; value: string | number }>;
  options?: DefinedOption[];
  channel_types?: number[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  autocomplete?: boolean;
}

export interface Resolved {
  users?: Record<string, JsonObject>;
  members?: Record<string, JsonObject>;
  channels?: Record<string, JsonObject>;
  messages?: Record<string, JsonObject>;
}

const SNOWFLAKE = /^\d{17,20}$/;

export class OptionResolver {
  private readonly errors: FieldErrors = {};
  readonly resolved: Resolved = {};
  /** Autocomplete: the focused option (its type decides the type of the choices' values). */
  focused: { name: string; type: number } | null = null;
  private autocomplete = false;
  /** Autocomplete: an unfocused option whose value fails validation is left out, not refused (Discord does this). */
  private omitting = false;

  constructor(
    private readonly storage: Storage,
    private readonly guildId: Snowflake,
  ) {}

  /** The options as the app receives them (`{name, type, value}` / nested), or a 50035. */
  async check(defined: DefinedOption[], sent: SentOption[], autocomplete = false): Promise<JsonObject[]> {
    this.autocomplete = autocomplete;
    const out = await this.level(defined, sent, ['data', 'options']);
    if (autocomplete && !this.focused && !Object.keys(this.errors).length)
      this.fail(['data', 'options'], 'BASE_TYPE_REQUIRED', 'One option must be focused');
    if (Object.keys(this.errors).length) throw new ApiError('INVALID_FORM_BODY', undefined, this.errors);
    return out;
  }

  /** Adds a user (and their member object when in the guild) to `resolved`; false when the user does not exist. */
  async addUser(id: Snowflake): Promise<boolean> {
    const user = await this.storage.getUser(id);
    if (!user) return false;
    (this.resolved.users ??= {})[id] = userJson(user) as unknown as JsonObject;
    const member = await this.storage.getMember(this.guildId, id);
    if (member) {
      const { user: _u, ...m } = memberJson(member, null);
      (this.resolved.members ??= {})[id] = { ...m, permissions: '0' } as unknown as JsonObject;
    }
    return true;
  }

  private fail(path: Array<string | number>, code: string, message: string): void {
    if (this.omitting) return;
    let node = this.errors;
    for (const p of path) node = (node[String(p)] ??= {}) as FieldErrors;
    node._errors = [{ code, message }];
  }

  private async level(
    defined: DefinedOption[],
    sent: SentOption[],
    path: Array<string | number>,
  ): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    const given = new Set<string>();
    for (const [i, o] of sent.entries()) {
      const def = defined.find((d) => d.name === o.name);
      const at = [...path, i];
      if (!def || given.has(o.name)) {
        this.fail([...at, 'name'], 'APPLICATION_COMMAND_OPTION_UNKNOWN', `Unknown option ${JSON.stringify(o.name)}`);
        continue;
      }
      given.add(o.name);
      if (def.type === OptionType.SUB_COMMAND || def.type === OptionType.SUB_COMMAND_GROUP) {
        const nested = await this.level(def.options ?? [], o.options ?? [], [...at, 'options']);
        out.push({ name: def.name, type: def.type, options: nested });
        continue;
      }
      if (this.autocomplete && o.focused) {
        const focused = this.focus(def, o.value, at);
        if (focused !== undefined) out.push({ name: def.name, type: def.type, value: focused, focused: true });
        continue;
      }
      this.omitting = this.autocomplete;
      const value = await this.value(def, o.value, [...at, 'value']).finally(() => (this.omitting = false));
      if (value !== undefined) out.push({ name: def.name, type: def.type, value });
    }
    // While typing, required options may not be filled in yet.
    if (!this.autocomplete)
      for (const d of defined)
        if (d.required && !given.has(d.name))
          this.fail([...path, d.name], 'BASE_TYPE_REQUIRED', `Option ${JSON.stringify(d.name)} is required`);
    return out;
  }

  /** The focused option of an autocomplete request: its partial text as typed. */
  private focus(def: DefinedOption, v: JsonValue | undefined, at: Array<string | number>): string | undefined {
    if (this.focused) return void this.fail([...at, 'focused'], 'BASE_TYPE_CHOICES', 'Only one option may be focused');
    const typed = def.type === OptionType.STRING || def.type === OptionType.INTEGER || def.type === OptionType.NUMBER;
    if (!typed || !def.autocomplete)
      return void this.fail(
        [...at, 'focused'],
        'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
        `Option ${JSON.stringify(def.name)} does not autocomplete`,
      );
    if (typeof v !== 'string') return void this.fail([...at, 'value'], 'STRING_TYPE_CONVERT', 'Must be a string');
    this.focused = { name: def.name, type: def.type };
    return v;
  }

  private async value(def: DefinedOption, v: JsonValue | undefined, at: Array<string | number>) {
    const bad = (code: string, message: string) => (this.fail(at, code, message), undefined);
    switch (def.type) {
      case OptionType.STRING: {
        if (typeof v !== 'string') return bad('STRING_TYPE_CONVERT', 'Must be a string');
        if (def.min_length !== undefined && v.length < def.min_length)
          return bad('BASE_TYPE_MIN_LENGTH', `Must be ${def.min_length} or more in length.`);
        if (v.length > (def.max_length ?? 6000))
          return bad('BASE_TYPE_MAX_LENGTH', `Must be ${def.max_length ?? 6000} or fewer in length.`);
        return this.choice(def, v, at);
      }
      case OptionType.INTEGER:
      case OptionType.NUMBER: {
        if (typeof v !== 'number' || !Number.isFinite(v) || (def.type === OptionType.INTEGER && !Number.isInteger(v)))
          return bad('NUMBER_TYPE_COERCE', `Value ${JSON.stringify(v)} is not ${def.type === 4 ? 'int' : 'a number'}.`);
        if (def.min_value !== undefined && v < def.min_value)
          return bad('NUMBER_TYPE_MIN', `Must be greater than or equal to ${def.min_value}.`);
        if (def.max_value !== undefined && v > def.max_value)
          return bad('NUMBER_TYPE_MAX', `Must be less than or equal to ${def.max_value}.`);
        return this.choice(def, v, at);
      }
      case OptionType.BOOLEAN:
        return typeof v === 'boolean' ? v : bad('BOOLEAN_TYPE_CONVERT', 'Must be a boolean');
      case OptionType.USER:
      case OptionType.MENTIONABLE:
        if (typeof v !== 'string' || !SNOWFLAKE.test(v)) return bad('NUMBER_TYPE_COERCE', 'Value is not snowflake.');
        return (await this.addUser(v)) ? v : bad('APPLICATION_COMMAND_OPTION_UNKNOWN_USER', 'Unknown User');
      case OptionType.CHANNEL: {
        if (typeof v !== 'string' || !SNOWFLAKE.test(v)) return bad('NUMBER_TYPE_COERCE', 'Value is not snowflake.');
        const ch = await this.storage.getChannel(v);
        if (!ch || ch.guildId !== this.guildId) return bad('CHANNEL_INVALID', 'Unknown Channel');
        if (def.channel_types?.length && !def.channel_types.includes(ch.type))
          return bad('CHANNEL_TYPE_INVALID', 'Channel type is not allowed for this option');
        const { id, name, type, parent_id } = channelJson(ch);
        (this.resolved.channels ??= {})[v] = { id, name, type, parent_id, permissions: '0' };
        return v;
      }
      default:
        return bad('BASE_TYPE_CHOICES', `Option type ${def.type} cannot be invoked here`);
    }
  }

  private choice<T extends string | number>(def: DefinedOption, v: T, at: Array<string | number>): T | undefined {
    if (def.choices?.length && !def.choices.some((c) => c.value === v)) {
      this.fail(at, 'BASE_TYPE_CHOICES', `Value ${JSON.stringify(v)} is not a valid choice.`);
      return undefined;
    }
    return v;
  }
}
