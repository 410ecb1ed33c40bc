/**
 * Autocomplete: a user typing a command sends interaction type 4 (one option focused); the application answers
 * callback type 8 `{choices}` — at most 25, each a name of 1–100 characters and a value of the focused option's type
 * (a string of ≤ 100 for string options, an integer for integer ones, any number for number ones). The choices go to
 * the typing user's sessions as APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE `{nonce, choices}`, the event Discord's own
 * client receives, and in the `?wait=true` answer to the user's POST.
 */
import { z } from 'zod';
import { formError } from '../rest/errors.ts';
import { parse } from '../rest/validate.ts';
import { OptionType } from './command-schema.ts';

const choice = z.object({
  name: z.string().min(1).max(100),
  name_localizations: z.record(z.string(), z.string().max(100)).nullable().optional(),
  value: z.union([z.string().max(100), z.number()]),
});
export type Choice = z.infer<typeof choice>;

/** Callback type 8's `data`. */
export const autocompleteResult = z.object({ choices: z.array(choice).max(25) });

/** The choices of a type 8 callback, checked against the focused option's type; a 50035 otherwise. */
export function parseChoices(data: unknown, focusedType: number): Choice[] {
  const { choices } = parse(autocompleteResult, data ?? {});
  choices.forEach((c, i) => {
    const ok =
      focusedType === OptionType.STRING
        ? typeof c.value === 'string'
        : typeof c.value === 'number' &&
          Number.isFinite(c.value) &&
          (focusedType === OptionType.NUMBER || Number.isSafeInteger(c.value));
    if (!ok)
      throw formError(
        ['choices', i, 'value'],
        focusedType === OptionType.STRING ? 'STRING_TYPE_CONVERT' : 'NUMBER_TYPE_COERCE',
        "Choice value does not match the focused option's type",
      );
  });
  // Drop a null name_localizations (discord.js sends undefined, others null): the client needs name and value.
  return choices.map(({ name, value, name_localizations }) => ({
    name,
    value,
    ...(name_localizations ? { name_localizations } : {}),
  }));
}
