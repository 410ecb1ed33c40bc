import { z } from 'zod';
import { isSnowflake } from '../../common/snowflake.ts';
import { ApiError, type FieldErrors } from './errors.ts';

/**
 * Request schemas (zod) and the translation of their issues into Discord's 50035 body, so a client sees the same
 * field codes Discord sends (BASE_TYPE_REQUIRED, BASE_TYPE_MAX_LENGTH, NUMBER_TYPE_COERCE, …).
 */
const snowflake = z
  .string()
  .refine(isSnowflake, { params: { discord: 'NUMBER_TYPE_COERCE' }, message: 'not snowflake' });

/** A query integer: digits only (so "x", "1.5" and "" are refused), then bounds. */
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'is not int')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const historyQuery = z
  .object({
    limit: queryInt(1, 100).optional(),
    before: snowflake.optional(),
    after: snowflake.optional(),
    around: snowflake.optional(),
  })
  .refine((q) => [q.before, q.after, q.around].filter((v) => v !== undefined).length <= 1, {
    message: 'Only one of around, before and after may be set.',
    params: { discord: 'MESSAGE_QUERY_EXCLUSIVE' },
  });

export const membersQuery = z.object({
  limit: queryInt(1, 1000).optional(),
  after: snowflake.optional(),
});

const embed = z.record(z.string(), z.unknown());

export const createMessageBody = z.object({
  content: z.string().max(2000).optional(),
  nonce: z.union([z.string().max(25), z.number().int()]).optional(),
  tts: z.boolean().optional(),
  embeds: z.array(embed).max(10).optional(),
  flags: z.number().int().min(0).optional(),
  message_reference: z.record(z.string(), z.unknown()).nullable().optional(),
  attachments: z.array(z.object({ id: z.union([z.string(), z.number()]), filename: z.string().optional() })).optional(),
  enforce_nonce: z.boolean().optional(),
});

export const editMessageBody = z.object({
  content: z.string().max(2000).nullable().optional(),
  embeds: z.array(embed).max(10).nullable().optional(),
  flags: z.number().int().min(0).nullable().optional(),
});

export const createChannelBody = z.object({
  name: z.string().min(1).max(100),
  type: z.union([z.literal(0), z.literal(2)]).optional(),
  topic: z.string().max(1024).nullable().optional(),
  bitrate: z.number().int().min(8000).max(384000).nullable().optional(),
  user_limit: z.number().int().min(0).max(99).nullable().optional(),
  position: z.number().int().min(0).nullable().optional(),
  parent_id: snowflake.nullable().optional(),
});

export const ackBody = z.object({ token: z.string().nullable().optional() }).nullable().optional();

/** Parses `input` or throws a 50035 ApiError whose `errors` mirror Discord's nesting. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const errors: FieldErrors = {};
  for (const issue of r.error.issues) {
    let node = errors;
    for (const p of issue.path) node = (node[String(p)] ??= {}) as FieldErrors;
    const list = ((node._errors as Array<{ code: string; message: string }>) ??= []);
    list.push(describe(issue, valueAt(input, issue.path)));
  }
  throw new ApiError('INVALID_FORM_BODY', undefined, errors);
}

/** Path parameters: each must be a snowflake, reported under its own name like Discord does. */
export function snowflakeParams<K extends string>(params: Record<K, string>): Record<K, string> {
  for (const [k, v] of Object.entries(params) as Array<[K, string]>)
    if (!isSnowflake(v))
      throw new ApiError('INVALID_FORM_BODY', undefined, {
        [k]: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${v}" is not snowflake.` }] },
      });
  return params;
}

function valueAt(input: unknown, p: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describe(issue: z.core.$ZodIssue, value: unknown): { code: string; message: string } {
  const shown = JSON.stringify(value)?.slice(0, 50) ?? String(value);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return { code: 'BASE_TYPE_REQUIRED', message: 'This field is required' };
      return { code: typeCode(issue.expected), message: `Could not interpret ${shown} as ${issue.expected}.` };
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array'
        ? { code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${issue.maximum} or fewer in length.` }
        : { code: 'NUMBER_TYPE_MAX', message: `int value should be less than or equal to ${issue.maximum}.` };
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? { code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${issue.minimum} or more in length.` }
        : { code: 'NUMBER_TYPE_MIN', message: `int value should be greater than or equal to ${issue.minimum}.` };
    case 'invalid_format':
      return { code: 'NUMBER_TYPE_COERCE', message: `Value ${shown} is not int.` };
    case 'invalid_union':
    case 'invalid_value':
      return { code: 'BASE_TYPE_CHOICES', message: `Value ${shown} is not a valid choice.` };
    case 'custom': {
      const code = (issue.params as { discord?: string } | undefined)?.discord ?? 'BASE_TYPE_BAD_TYPE';
      const message = code === 'NUMBER_TYPE_COERCE' ? `Value ${shown} is not snowflake.` : issue.message;
      return { code, message };
    }
    default:
      return { code: 'BASE_TYPE_BAD_TYPE', message: issue.message };
  }
}

function typeCode(expected: string): string {
  if (expected === 'string') return 'STRING_TYPE_CONVERT';
  if (expected === 'number' || expected === 'int') return 'NUMBER_TYPE_COERCE';
  if (expected === 'boolean') return 'BOOLEAN_TYPE_CONVERT';
  if (expected === 'array') return 'LIST_TYPE_CONVERT';
  if (expected === 'object' || expected === 'record') return 'DICT_TYPE_CONVERT';
  return 'BASE_TYPE_BAD_TYPE';
}
