import type { ChannelMedia } from '../sfu/index.ts';
import { Op } from './opcodes.ts';
import type { VoiceSession } from './session.ts';

/**
 * Hooks a feature attaches to a channel (DAVE E2EE does). Each returns quickly; a hook that wants to refuse a
 * session closes its connection itself.
 */
export interface ChannelExtension {
  /** The DAVE protocol version to announce in op 4 for this session (0 = none). */
  protocolVersionFor?(session: VoiceSession): number;
  /** Right after op 4 went to `session`, before the channel announces it to the others (ops 11 and 5). */
  onSessionDescribed?(session: VoiceSession): void;
  /** After the channel exchanged ops 11/5 between `session` and the others. */
  onJoined?(session: VoiceSession): void;
  /** A JSON op this channel's core does not handle (DAVE 23, 31). Returns true when handled. */
  onClientMessage?(session: VoiceSession, op: number, d: unknown): boolean;
  /** A binary op from the client (DAVE 26, 28). Returns true when handled. */
  onClientBinary?(session: VoiceSession, op: number, payload: Buffer): boolean;
  /** After op 13 announced the session's departure to the others. */
  onLeft?(session: VoiceSession): void;
  close?(): void;
}

/**
 * A voice channel on this server: the sessions in it, their speaking state, and the SFU router of its media, which
 * it owns. A session is admitted at Identify (its transport is made by this channel's router) and joins at Select
 * Protocol; leaving closes its transport, and `close()` closes the router, which closes every transport still in it.
 */
export class VoiceChannel {
  /** Sessions that completed Select Protocol, by user. */
  readonly sessions = new Map<string, VoiceSession>();
  readonly extensions: ChannelExtension[] = [];
  private readonly admitted = new Set<VoiceSession>();
  private isClosed = false;

  constructor(
    readonly guildId: string,
    readonly channelId: string,
    readonly router: ChannelMedia,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** No session holds a transport here any more. */
  get empty(): boolean {
    return this.admitted.size === 0;
  }

  /** `session` identified for this channel; its transport was made by this channel's router. */
  admit(session: VoiceSession): void {
    this.admitted.add(session);
  }

  get key(): string {
    return channelKey(this.guildId, this.channelId);
  }

  others(session: VoiceSession): VoiceSession[] {
    const out: VoiceSession[] = [];
    for (const s of this.sessions.values()) if (s !== session) out.push(s);
    return out;
  }

  /** DAVE version for op 4: the lowest any extension allows, or 0 without one. */
  protocolVersionFor(session: VoiceSession): number {
    let v: number | undefined;
    for (const e of this.extensions) {
      const ev = e.protocolVersionFor?.(session);
      if (ev !== undefined) v = v === undefined ? ev : Math.min(v, ev);
    }
    return v ?? 0;
  }

  /**
   * `session` finished Select Protocol and got op 4. It learns who is here (op 11) and their SSRCs (op 5, the only
   * way @discordjs/voice maps SSRC → user); the others learn about it.
   */
  join(session: VoiceSession): void {
    for (const e of this.extensions) e.onSessionDescribed?.(session);
    const others = this.others(session);
    this.sessions.set(session.userId, session);
    if (others.length > 0) session.send(Op.ClientsConnect, { user_ids: others.map((s) => s.userId) });
    for (const o of others) {
      session.send(Op.Speaking, { user_id: o.userId, ssrc: o.ssrc, speaking: o.speaking });
      o.send(Op.ClientsConnect, { user_ids: [session.userId] });
      o.send(Op.Speaking, { user_id: session.userId, ssrc: session.ssrc, speaking: session.speaking });
    }
    for (const e of this.extensions) e.onJoined?.(session);
  }

  speaking(session: VoiceSession, flags: number): void {
    session.speaking = flags;
    for (const o of this.others(session))
      o.send(Op.Speaking, { user_id: session.userId, ssrc: session.ssrc, speaking: flags });
  }

  /** The session ended: the others learn it (op 13) and its transport closes, taking its participant along. */
  leave(session: VoiceSession): void {
    if (!this.admitted.delete(session)) return;
    session.transport.close();
    if (this.sessions.get(session.userId) !== session) return;
    this.sessions.delete(session.userId);
    for (const o of this.sessions.values()) o.send(Op.ClientDisconnect, { user_id: session.userId });
    for (const e of this.extensions) e.onLeft?.(session);
  }

  /** Closes the extensions, then the router (which closes every transport and participant still in it). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const e of this.extensions) e.close?.();
    this.router.close();
  }
}

export function channelKey(guildId: string, channelId: string): string {
  return `${guildId}:${channelId}`;
}
