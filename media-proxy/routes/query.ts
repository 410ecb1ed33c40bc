import { z } from 'zod';
import { MediaError } from '../errors.ts';

/** The parameters that ask for a rendition; any of them beside `passthrough=true` takes precedence over it. */
export const TRANSFORM_PARAMS = [
  'width',
  'height',
  'size',
  'format',
  'quality',
  'animated',
  'keep_aspect_ratio',
  'fit',
] as const;

/** Every query parameter a GET route reads; anything else is ignored, as Discord's CDN ignores it. */
export const QUERY_PARAMS = [...TRANSFORM_PARAMS, 'passthrough', 'ex', 'is', 'hm'] as const;
export type QueryParam = (typeof QUERY_PARAMS)[number];
export type Query = Partial<Record<QueryParam, string>>;

/** Longer than any valid value (the 64-hex-digit `hm` is the longest): past it a value is refused unread. */
const MAX_VALUE = 128;

const single = z
  .string({
    error: (iss) =>
      Array.isArray(iss.input) ? `was given ${iss.input.length} times; give it once` : 'must be a single value',
  })
  .max(MAX_VALUE, { error: `is longer than ${MAX_VALUE} characters` })
  .optional();

const schema = z.object(Object.fromEntries(QUERY_PARAMS.map((p) => [p, single])) as Record<QueryParam, typeof single>);

/**
 * The edge check of every GET route: each known parameter at most once, as plain text of bounded length. Repeated
 * (`format=webp&format=png`) or array-shaped (`format[]=webp`) parameters are a 400 naming the parameter, before any
 * lookup or decode; unknown parameters are dropped.
 */
export function readQuery(raw: unknown): Query {
  const input = (raw ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    const bracket = key.indexOf('[');
    const base = bracket > 0 ? key.slice(0, bracket) : '';
    if ((QUERY_PARAMS as readonly string[]).includes(base))
      throw new MediaError('bad_request', `query parameter "${base}" must be a single value, not an array`);
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new MediaError('bad_request', `query parameter "${String(issue.path[0])}" ${issue.message}`);
}
