/**
 * Application command payloads (POST/PATCH/PUT on /applications/{app}[/guilds/{guild}]/commands), validated the
 * way Discord validates them: zod for the shape (its issues become the 50035 `errors` tree through rest/validate.ts),
 * then the cross-field rules zod cannot say (required options first, unique names, choices only where allowed).
 */
import { z } from 'zod';
import type { FieldErrors } from '../rest/errors.ts';

/** Option types: 1 SUB_COMMAND … 11 ATTACHMENT (Discord's ApplicationCommandOptionType). */
export const OptionType = {
  SUB_COMMAND: 1,
  SUB_COMMAND_GROUP: 2,
  STRING: 3,
  INTEGER: 4,
  BOOLEAN: 5,
  USER: 6,
  CHANNEL: 7,
  ROLE: 8,
  MENTIONABLE: 9,
  NUMBER: 10,
  ATTACHMENT: 11,
} as const;

/** Discord's command and option name rule (lower case where the script has case). */
const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const name = z.string().refine((s) => NAME.test(s) && s === s.toLowerCase(), {
  params: { discord: 'APPLICATION_COMMAND_INVALID_NAME' },
  message: 'Command name is invalid',
});
const localizations = z.record(z.string(), z.string().max(100)).nullable().optional();

const choice = z.object({
  name: z.string().min(1).max(100),
  name_localizations: localizations,
  value: z.union([z.string().max(100), z.number()]),
});

interface OptionInput {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  choices?: Array<z.infer<typeof choice>>;
  options?: OptionInput[];
  channel_types?: number[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  autocomplete?: boolean;
}

const option: z.ZodType<OptionInput> = z.lazy(() =>
  z.object({
    type: z.number().int().min(1).max(11),
    name,
    name_localizations: localizations,
    description: z.string().min(1).max(100),
    description_localizations: localizations,
    required: z.boolean().optional(),
    choices: z.array(choice).max(25).optional(),
    options: z.array(option).max(25).optional(),
    channel_types: z.array(z.number().int().min(0)).optional(),
    min_value: z.number().optional(),
    max_value: z.number().optional(),
    min_length: z.number().int().min(0).max(6000).optional(),
    max_length: z.number().int().min(1).max(6000).optional(),
    autocomplete: z.boolean().optional(),
  }),
);

export const commandBody = z.object({
  name: z.string().min(1).max(32),
  name_localizations: localizations,
  description: z.string().max(100).optional(),
  description_localizations: localizations,
  type: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  options: z.array(option).max(25).optional(),
  default_member_permissions: z.string().regex(/^\d+$/).nullable().optional(),
  dm_permission: z.boolean().nullable().optional(),
  nsfw: z.boolean().optional(),
  integration_types: z.array(z.number().int()).optional(),
  contexts: z.array(z.number().int()).nullable().optional(),
});
export type CommandBody = z.infer<typeof commandBody>;

/** PATCH: every field optional (the result is validated again as a whole). */
export const commandPatch = commandBody.partial();

/** PUT bulk overwrite: an array of commands (Discord caps a scope at 100 slash + 5 user + 5 message commands). */
export const bulkBody = z.array(commandBody.extend({ id: z.string().optional() })).max(110);

type Err = { code: string; message: string };
const put = (errors: FieldErrors, path: Array<string | number>, e: Err) => {
  let node = errors;
  for (const p of path) node = (node[String(p)] ??= {}) as FieldErrors;
  ((node._errors as Err[] | undefined) ?? (node._errors = [])).push(e);
};

/**
 * The rules across fields, written into `errors` under `base` (so a bulk overwrite reports `{"3": {...}}`):
 * CHAT_INPUT needs a lower-case name and a description; USER/MESSAGE take neither a description nor options.
 */
export function checkCommand(body: CommandBody, errors: FieldErrors, base: Array<string | number> = []): void {
  const type = body.type ?? 1;
  if (type === 1) {
    if (!NAME.test(body.name) || body.name !== body.name.toLowerCase())
      put(errors, [...base, 'name'], { code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
    if (!body.description)
      put(errors, [...base, 'description'], { code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
    checkOptions(body.options ?? [], errors, [...base, 'options'], 0);
  } else {
    if (body.description)
      put(errors, [...base, 'description'], {
        code: 'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION',
        message: 'Context menu commands cannot have description',
      });
    if (body.options?.length)
      put(errors, [...base, 'options'], {
        code: 'APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS',
        message: 'Context menu commands cannot have options',
      });
  }
}

function checkOptions(options: OptionInput[], errors: FieldErrors, path: Array<string | number>, depth: number): void {
  const seen = new Set<string>();
  let optionalSeen = false;
  options.forEach((o, i) => {
    const at = [...path, i];
    if (seen.has(o.name))
      put(errors, [...at, 'name'], {
        code: 'APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS',
        message: 'Option names must be unique',
      });
    seen.add(o.name);
    const sub = o.type === OptionType.SUB_COMMAND || o.type === OptionType.SUB_COMMAND_GROUP;
    if (sub) {
      if (depth >= (o.type === OptionType.SUB_COMMAND_GROUP ? 1 : 2))
        put(errors, [...at, 'type'], { code: 'BASE_TYPE_CHOICES', message: 'Sub-commands cannot be nested here' });
      checkOptions(o.options ?? [], errors, [...at, 'options'], depth + 1);
      return;
    }
    if (o.required && optionalSeen)
      put(errors, [...at, 'required'], {
        code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        message: 'Required options must be placed before non-required options',
      });
    if (!o.required) optionalSeen = true;
    // Autocomplete suggests values for typed options only, and replaces fixed choices (Discord refuses both at once).
    if (o.autocomplete) {
      const typed = o.type === OptionType.STRING || o.type === OptionType.INTEGER || o.type === OptionType.NUMBER;
      if (!typed)
        put(errors, [...at, 'autocomplete'], {
          code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
          message: 'Autocomplete cannot be configured for this type of option',
        });
      else if (o.choices?.length)
        put(errors, [...at, 'autocomplete'], {
          code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
          message: 'Autocomplete and choices are mutually exclusive',
        });
    }
    if (o.choices?.length) {
      const numeric = o.type === OptionType.INTEGER || o.type === OptionType.NUMBER;
      if (o.type !== OptionType.STRING && !numeric)
        put(errors, [...at, 'choices'], {
          code: 'APPLICATION_COMMAND_OPTION_CHOICES_INVALID',
          message: 'Choices are only allowed for string, integer and number options',
        });
      o.choices.forEach((c, j) => {
        const ok = numeric
          ? typeof c.value === 'number' && (o.type === OptionType.NUMBER || Number.isInteger(c.value))
          : typeof c.value === 'string';
        if (!ok)
          put(errors, [...at, 'choices', j, 'value'], {
            code: numeric ? 'NUMBER_TYPE_COERCE' : 'STRING_TYPE_CONVERT',
            message: `Choice value does not match the option type`,
          });
      });
    }
  });
}
