/**
 * Modals: an application answers a command or component interaction with callback type 9 (a title and up to five
 * action rows of text inputs); Resound keeps the modal for the invoking user (InteractionState, the token's lifetime)
 * and shows it to them as INTERACTION_MODAL_CREATE (the event Discord's own client receives). The user submits it as
 * interaction type 5 MODAL_SUBMIT, checked here against the modal that was shown: every input known, required ones
 * filled, lengths within the input's bounds.
 */
import { z } from 'zod';
import { ApiError, type FieldErrors } from '../rest/errors.ts';
import type { JsonObject, Snowflake } from '../storage/types.ts';
import type { ModalSubmitBody } from './invoke-body.ts';
import type { InteractionTrigger } from './state.ts';

/** Discord's text input (component type 4): style 1 short, 2 paragraph. */
const textInput = z
  .object({
    type: z.literal(4),
    id: z.number().int().optional(),
    custom_id: z.string().min(1).max(100),
    style: z.union([z.literal(1), z.literal(2)]),
    label: z.string().min(1).max(45),
    min_length: z.number().int().min(0).max(4000).optional(),
    max_length: z.number().int().min(1).max(4000).optional(),
    required: z.boolean().optional(),
    value: z.string().max(4000).optional(),
    placeholder: z.string().max(100).optional(),
  })
  .refine((i) => i.min_length === undefined || i.max_length === undefined || i.min_length <= i.max_length, {
    message: 'min_length must not exceed max_length',
    params: { discord: 'BASE_TYPE_BAD_LENGTH' },
  });
export type TextInput = z.infer<typeof textInput>;

/** Callback type 9's `data`. */
export const modalData = z
  .object({
    custom_id: z.string().min(1).max(100),
    title: z.string().min(1).max(45),
    components: z
      .array(z.object({ type: z.literal(1), components: z.array(textInput).min(1).max(1) }))
      .min(1)
      .max(5),
  })
  .refine((m) => new Set(m.components.map((r) => r.components[0].custom_id)).size === m.components.length, {
    message: 'Component custom ids must be unique',
    path: ['components'],
    params: { discord: 'COMPONENT_CUSTOM_ID_DUPLICATED' },
  });
export type ModalData = z.infer<typeof modalData>;

/** A modal shown to a user, waiting for their submit. */
export interface ShownModal {
  /** The interaction it answered (Discord's INTERACTION_MODAL_CREATE `id`, sent back as the submit's `data.id`). */
  id: Snowflake;
  applicationId: Snowflake;
  userId: Snowflake;
  guildId: Snowflake;
  channelId: Snowflake;
  /** Shown from a component: the message the component is on (a submit may then update it: callbacks 6 and 7). */
  messageId?: Snowflake;
  /** The command or component interaction that showed it. */
  trigger: InteractionTrigger;
  modal: ModalData;
}

/** INTERACTION_MODAL_CREATE `d` for the invoking user's sessions. */
export function modalCreateEvent(shown: ShownModal, app: { name: string }, nonce: string | null): JsonObject {
  return {
    id: shown.id,
    nonce,
    application: { id: shown.applicationId, name: app.name, icon: null },
    channel_id: shown.channelId,
    custom_id: shown.modal.custom_id,
    title: shown.modal.title,
    components: shown.modal.components as unknown as JsonObject[],
  };
}

/**
 * The MODAL_SUBMIT `data` the application receives (every input of the modal, in its order, with the submitted
 * value, '' when left out), or a 50035 under `data.components` naming each bad input.
 */
export function checkSubmit(shown: ShownModal, sent: ModalSubmitBody['data']): JsonObject {
  const errors: FieldErrors = {};
  const fail = (path: Array<string | number>, code: string, message: string) => {
    let node = errors;
    for (const p of ['data', 'components', ...path]) node = (node[String(p)] ??= {}) as FieldErrors;
    node._errors = [{ code, message }];
  };
  const inputs = new Map(shown.modal.components.map((r) => [r.components[0].custom_id, r.components[0]]));
  const values = new Map<string, string>();
  sent.components.forEach((row, i) => {
    const id = row.components[0].custom_id;
    if (!inputs.has(id) || values.has(id))
      fail([i, 'components', 0, 'custom_id'], 'COMPONENT_INVALID', `No text input ${JSON.stringify(id)} in this modal`);
    else values.set(id, row.components[0].value);
  });
  shown.modal.components.forEach((row, i) => {
    const input = row.components[0];
    const value = values.get(input.custom_id) ?? '';
    const at = [i, 'components', 0, 'value'];
    // Discord: text inputs are required unless they say otherwise; an empty optional input skips the length rules.
    if (!value) {
      if (input.required !== false) fail(at, 'BASE_TYPE_REQUIRED', 'This field is required');
      return;
    }
    if (input.min_length !== undefined && value.length < input.min_length)
      fail(at, 'BASE_TYPE_MIN_LENGTH', `Must be ${input.min_length} or more in length.`);
    if (value.length > (input.max_length ?? 4000))
      fail(at, 'BASE_TYPE_MAX_LENGTH', `Must be ${input.max_length ?? 4000} or fewer in length.`);
  });
  if (Object.keys(errors).length) throw new ApiError('INVALID_FORM_BODY', undefined, errors);
  return {
    custom_id: shown.modal.custom_id,
    components: shown.modal.components.map((row) => ({
      type: 1,
      components: [
        { type: 4, custom_id: row.components[0].custom_id, value: values.get(row.components[0].custom_id) ?? '' },
      ],
    })),
  };
}
