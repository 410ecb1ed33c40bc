/**
 * The message part of interaction responses and webhook follow-ups/edits (`data` of a callback, the body of
 * POST /webhooks/{app}/{token}): content, embeds, flags (only EPHEMERAL and SUPPRESS_EMBEDS may be set) and
 * components — action rows of buttons and select menus, with Discord's limits.
 */
import { z } from 'zod';

export const MessageFlag = { SUPPRESS_EMBEDS: 1 << 2, EPHEMERAL: 1 << 6, LOADING: 1 << 7 } as const;

const emoji = z.object({
  id: z.string().nullable().optional(),
  name: z.string().optional(),
  animated: z.boolean().optional(),
});

const button = z
  .object({
    type: z.literal(2),
    style: z.number().int().min(1).max(6),
    label: z.string().max(80).optional(),
    emoji: emoji.optional(),
    custom_id: z.string().min(1).max(100).optional(),
    url: z.string().url().max(512).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => (b.style === 5 ? Boolean(b.url) && !b.custom_id : Boolean(b.custom_id) && !b.url), {
    message: 'Link buttons take a url, the others a custom_id',
    params: { discord: 'COMPONENT_INVALID_BUTTON' },
  });

const selectOption = z.object({
  label: z.string().min(1).max(100),
  value: z.string().min(1).max(100),
  description: z.string().max(100).optional(),
  emoji: emoji.optional(),
  default: z.boolean().optional(),
});

const select = z.object({
  type: z.union([z.literal(3), z.literal(5), z.literal(6), z.literal(7), z.literal(8)]),
  custom_id: z.string().min(1).max(100),
  options: z.array(selectOption).max(25).optional(),
  placeholder: z.string().max(150).optional(),
  min_values: z.number().int().min(0).max(25).optional(),
  max_values: z.number().int().min(1).max(25).optional(),
  disabled: z.boolean().optional(),
  channel_types: z.array(z.number().int()).optional(),
});

const actionRow = z.object({
  type: z.literal(1),
  components: z
    .array(z.union([button, select]))
    .min(1)
    .max(5),
});

export const responseMessage = z.object({
  content: z.string().max(2000).optional(),
  tts: z.boolean().optional(),
  embeds: z.array(z.record(z.string(), z.unknown())).max(10).optional(),
  allowed_mentions: z.record(z.string(), z.unknown()).optional(),
  flags: z
    .number()
    .int()
    .min(0)
    .refine((f) => (f & ~(MessageFlag.EPHEMERAL | MessageFlag.SUPPRESS_EMBEDS)) === 0, {
      message: 'Only EPHEMERAL and SUPPRESS_EMBEDS may be set',
      params: { discord: 'BASE_TYPE_BAD_TYPE' },
    })
    .optional(),
  components: z.array(actionRow).max(5).optional(),
  attachments: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type ResponseMessage = z.infer<typeof responseMessage>;

/** Edits: the same fields, each nullable (null clears). */
export const editMessage = z.object({
  content: z.string().max(2000).nullable().optional(),
  embeds: z.array(z.record(z.string(), z.unknown())).max(10).nullable().optional(),
  allowed_mentions: z.record(z.string(), z.unknown()).nullable().optional(),
  components: z.array(actionRow).max(5).nullable().optional(),
  flags: z.number().int().min(0).nullable().optional(),
  attachments: z.array(z.record(z.string(), z.unknown())).nullable().optional(),
});
export type EditMessage = z.infer<typeof editMessage>;

/** Callback types: 1 PONG (PING only), 4, 5, 6, 7, 8 (autocomplete only), 9. */
export const CallbackType = {
  PONG: 1,
  CHANNEL_MESSAGE_WITH_SOURCE: 4,
  DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: 5,
  DEFERRED_UPDATE_MESSAGE: 6,
  UPDATE_MESSAGE: 7,
  APPLICATION_COMMAND_AUTOCOMPLETE_RESULT: 8,
  MODAL: 9,
} as const;

/**
 * Which callbacks answer which interaction (Discord's rules): a command 4, 5 or 9; a component also 6 and 7 (they
 * update its message); autocomplete only 8; a modal submit 4 and 5, and 6/7 only when the modal was shown from a
 * component (there is a message to update) — never another modal.
 */
export function callbackAllowed(interactionType: 2 | 3 | 4 | 5, fromMessage: boolean, t: number): boolean {
  switch (interactionType) {
    case 2:
      return t === 4 || t === 5 || t === 9;
    case 3:
      return (t >= 4 && t <= 7) || t === 9;
    case 4:
      return t === 8;
    case 5:
      return t === 4 || t === 5 || (fromMessage && (t === 6 || t === 7));
  }
}

export const callbackBody = z.object({
  type: z.union([z.literal(1), z.literal(4), z.literal(5), z.literal(6), z.literal(7), z.literal(8), z.literal(9)]),
  data: z.record(z.string(), z.unknown()).nullable().optional(),
});
