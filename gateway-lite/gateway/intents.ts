import { Intent } from './events.ts';

/** Every intent bit Discord defines; anything else in Identify's `intents` → 4013. */
export const ALL_INTENTS = Object.values(Intent).reduce((a, b) => a | b, 0);

/** Intents an application must be granted before identifying with them (Discord's dev-portal toggles). */
export const PRIVILEGED_INTENTS = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT;

export type IntentName = keyof typeof Intent;

/**
 * Which privileged intents each bot may use. Configured (GATEWAY_LITE_PRIVILEGED_INTENTS) as a comma list whose
 * entries are either `NAME` (granted to every bot) or `BOT_ID:NAME` (granted to that bot only), e.g.
 * `GUILD_MEMBERS,123456789012345678:MESSAGE_CONTENT`. Unprivileged intents never need a grant.
 */
export class IntentGrants {
  private readonly everyone: number;
  private readonly perBot = new Map<string, number>();

  constructor(spec: string) {
    let all = 0;
    for (const raw of spec.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      const [who, name] = entry.includes(':') ? entry.split(':', 2) : [null, entry];
      const bit = Intent[name as IntentName];
      if (bit === undefined || (bit & PRIVILEGED_INTENTS) === 0)
        throw new Error(`privileged intent grant "${entry}": ${name} is not a privileged intent name`);
      if (who === null) all |= bit;
      else this.perBot.set(who, (this.perBot.get(who) ?? 0) | bit);
    }
    this.everyone = all;
  }

  /** The privileged bits `botId` may identify with. */
  granted(botId: string): number {
    return this.everyone | (this.perBot.get(botId) ?? 0);
  }
}

export type IntentCheck = { ok: true } | { ok: false; code: 4013 | 4014; reason: string };

/** Identify's intents: unknown bits → 4013, privileged bits not granted → 4014. */
export function checkIntents(intents: number, granted: number): IntentCheck {
  if (intents < 0 || (intents & ~ALL_INTENTS) !== 0)
    return { ok: false, code: 4013, reason: `invalid intent bits ${intents & ~ALL_INTENTS}` };
  const missing = intents & PRIVILEGED_INTENTS & ~granted;
  if (missing) {
    const names = Object.entries(Intent)
      .filter(([, bit]) => missing & bit)
      .map(([n]) => n);
    return { ok: false, code: 4014, reason: `privileged intents not granted: ${names.join(',')}` };
  }
  return { ok: true };
}

/** MESSAGE_CREATE/UPDATE fields Discord empties for an app without MESSAGE_CONTENT. */
export function withoutContent(d: Record<string, unknown>): Record<string, unknown> {
  return {
    ...d,
    content: '',
    embeds: [],
    attachments: [],
    components: [],
    ...('poll' in d ? { poll: undefined } : {}),
  };
}

/**
 * Whether `userId` sees a guild message's content without MESSAGE_CONTENT: Discord still shows an app the messages it
 * sent and the ones mentioning it (DMs too, but DMs carry no guild and never reach this check).
 */
export function seesContentAnyway(d: Record<string, unknown>, userId: string): boolean {
  const author = d.author as { id?: string } | undefined;
  if (author?.id === userId) return true;
  const mentions = d.mentions as Array<{ id?: string }> | undefined;
  return Array.isArray(mentions) && mentions.some((m) => m.id === userId);
}
