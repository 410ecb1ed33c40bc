import type { GatewayDispatch } from './events.ts';
import { withoutContent } from './intents.ts';

/** The shapes a dispatch's `d` is sent in: as published, or with message content blanked (no MESSAGE_CONTENT). */
export type Variant = 'full' | 'no_content';

/**
 * One bus event on its way to this node's sessions: its `d` is JSON-serialised at most once per variant, however
 * many sessions receive it; each session only splices its own sequence number into the envelope (and compresses
 * the frame in its own stream context, which cannot be shared).
 */
export class PreparedDispatch {
  private full?: string;
  private noContent?: string;
  /** Serialisations done (the "once per (payload, variant)" claim, checked by tests and metrics). */
  static serialisations = 0;

  constructor(readonly event: GatewayDispatch) {}

  get t(): string {
    return this.event.t;
  }

  json(variant: Variant): string {
    if (variant === 'full') return (this.full ??= PreparedDispatch.stringify(this.event.d));
    return (this.noContent ??= PreparedDispatch.stringify(withoutContent(this.event.d as Record<string, unknown>)));
  }

  private static stringify(d: unknown): string {
    PreparedDispatch.serialisations++;
    return JSON.stringify(d) ?? 'null';
  }
}

/** The op 0 envelope around an already-serialised `d`. Key order matches what Discord sends. */
export function dispatchFrame(t: string, s: number, dJson: string): string {
  return `{"t":"${t}","s":${s},"op":0,"d":${dJson}}`;
}

/** Any non-dispatch frame (Hello, ACK, Reconnect, Invalid Session). */
export function controlFrame(op: number, d: unknown): string {
  return JSON.stringify({ t: null, s: null, op, d });
}
