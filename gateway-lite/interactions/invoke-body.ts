/**
 * What a user's client sends to POST /api/v10/interactions, by interaction type: 2 APPLICATION_COMMAND, 3
 * MESSAGE_COMPONENT, 4 APPLICATION_COMMAND_AUTOCOMPLETE (a command being typed: one option `focused`, its partial
 * value a string whatever the option's type, as Discord's client sends it) and 5 MODAL_SUBMIT (the text inputs of a
 * modal the application showed this user).
 */
import { z } from 'zod';
import { isSnowflake } from '../../common/snowflake.ts';
import type { SentOption } from './options.ts';

const snowflake = z
  .string()
  .refine(isSnowflake, { params: { discord: 'NUMBER_TYPE_COERCE' }, message: 'not snowflake' });

const sentOption: z.ZodType<SentOption> = z.lazy(() =>
  z.object({
    name: z.string().max(32),
    type: z.number().int().optional(),
    value: z.union([z.string().max(6000), z.number(), z.boolean()]).optional(),
    options: z.array(sentOption).max(25).optional(),
    focused: z.boolean().optional(),
  }),
);

/** Where every invocation happens, and the client's nonce (echoed in INTERACTION_SUCCESS/FAILURE and friends). */
const context = {
  application_id: snowflake,
  guild_id: snowflake,
  channel_id: snowflake,
  nonce: z.string().max(25).optional(),
  session_id: z.string().max(64).optional(),
};

const commandData = z.object({
  id: snowflake,
  name: z.string().max(32).optional(),
  type: z.number().int().optional(),
  version: z.string().optional(),
  options: z.array(sentOption).max(25).optional(),
  target_id: snowflake.optional(),
});

/** A submitted text input: Discord's client sends each row back with the input's custom_id and value. */
const submittedInput = z.object({
  type: z.literal(4),
  custom_id: z.string().min(1).max(100),
  value: z.string().max(4000),
});

export const invokeBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal(2), ...context, data: commandData }),
  z.object({
    type: z.literal(3),
    ...context,
    message_id: snowflake,
    data: z.object({
      component_type: z.number().int().min(2).max(8),
      custom_id: z.string().min(1).max(100),
      values: z.array(z.string().max(100)).max(25).optional(),
    }),
  }),
  z.object({ type: z.literal(4), ...context, data: commandData }),
  z.object({
    type: z.literal(5),
    ...context,
    data: z.object({
      /** The modal's id from INTERACTION_MODAL_CREATE (optional: custom_id alone finds the modal shown). */
      id: snowflake.optional(),
      custom_id: z.string().min(1).max(100),
      components: z.array(z.object({ type: z.literal(1), components: z.array(submittedInput).min(1).max(1) })).max(5),
    }),
  }),
]);
export type InvokeBody = z.infer<typeof invokeBody>;
export type ModalSubmitBody = Extract<InvokeBody, { type: 5 }>;
