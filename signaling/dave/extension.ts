import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { MediaGate, Participant } from '../../sfu/index.ts';
import type { ChannelExtension, VoiceChannel } from '../channel.ts';
import { Op, TransitionSchema } from '../opcodes.ts';
import type { VoiceSession } from '../session.ts';
import type { ExternalSender } from './external-sender.ts';
import { DaveGroup } from './group.ts';
import { DaveClose, type DaveMetricsHooks, type DaveOutput, type E2eeMode } from './types.ts';

/** What every channel of one voice server shares: the server's signing identity, metrics and policy. */
export interface DaveServerContext {
  sender: ExternalSender;
  metrics: DaveMetricsHooks;
  logger: Logger;
  mode: E2eeMode;
  transitionTimeoutMs?: number;
}

/**
 * SFU gate for one channel. The SFU holds no media keys; it tells a member's DAVE frames apart by their trailing
 * 0xFAFA marker:
 * marker frames reach only group members (nobody else could decrypt them, and @discordjs/voice would feed the
 * ciphertext to its Opus decoder); plain non-silence frames never reach members, whose decryptors would count them
 * as failures and eventually reset the group. Opus silence is never encrypted and always passes.
 */
export class DaveMediaGate implements MediaGate {
  /** The router asks once per receiver for the same frame: note each sender's E2EE frames once, not per receiver. */
  private lastNoted: Participant | null = null;

  constructor(private readonly group: DaveGroup) {}

  allow(sender: Participant, receiver: Participant, payload: Uint8Array, offset: number, length: number): boolean {
    if (length === 3 && payload[offset] === 0xf8 && payload[offset + 1] === 0xff && payload[offset + 2] === 0xfe)
      return true;
    const toMember = this.group.isMember(receiver.userId);
    // Only members encrypt, so a non-member's frame is plain Opus even when its last two bytes happen to be FA FA
    // (about one frame in 65,536): judge by the sender first, the marker second.
    if (!this.group.isMember(sender.userId)) return !toMember;
    if (length >= 2 && payload[offset + length - 1] === 0xfa && payload[offset + length - 2] === 0xfa) {
      if (sender !== this.lastNoted) {
        this.lastNoted = sender;
        this.group.noteE2eeFrame(sender.userId);
      }
      return toMember;
    }
    return !toMember;
  }
}

/**
 * Wires one channel's DaveGroup into the voice gateway: op 4's protocol version, op 25 right after op 4, client ops
 * 23/26/28/31 into the group, and the group's instructions out through each session's sequenced send (binary frames
 * share the session's u16 counter and replay buffer, so a resumed client gets missed DAVE messages too).
 */
export function daveChannelExtension(
  channel: VoiceChannel,
  ctx: DaveServerContext,
): ChannelExtension & { group: DaveGroup } {
  // Own map: op 25 goes out from onSessionDescribed, before the channel lists the session.
  const sessions = new Map<string, VoiceSession>();
  const deliver = (out: DaveOutput): void => {
    const s = sessions.get(out.to);
    if (!s || s.ended) return;
    if (out.kind === 'binary') s.sendBinary(out.op, out.payload);
    else if (out.kind === 'json') s.send(out.op, out.d);
    // Closing re-enters the group through leave(); let the current group step finish first.
    else queueMicrotask(() => s.conn?.close(out.code, out.reason));
  };
  const group = new DaveGroup({
    channelId: channel.channelId,
    mode: ctx.mode,
    sender: ctx.sender,
    sink: deliver,
    metrics: ctx.metrics,
    logger: ctx.logger,
    transitionTimeoutMs: ctx.transitionTimeoutMs,
  });
  channel.router.setGate(new DaveMediaGate(group));
  const badLog = new RateLimitedLog(ctx.logger);
  const closeBad = (session: VoiceSession, message: string): true => {
    ctx.metrics.rejected('transition_malformed');
    badLog.warn('dave-reject:transition_malformed', { userId: session.userId, channelId: channel.channelId }, message);
    session.conn?.close(DaveClose.DecodeError, message);
    return true;
  };
  return {
    group,
    protocolVersionFor(session) {
      sessions.set(session.userId, session);
      const r = group.admit(session.userId, session.maxDaveVersion);
      if (r.ok) return r.protocolVersion;
      queueMicrotask(() => session.conn?.close(r.code, r.reason));
      return 0;
    },
    onSessionDescribed(session) {
      group.ready(session.userId);
    },
    onClientMessage(session, op, d) {
      if (op !== Op.DaveTransitionReady && op !== Op.DaveMlsInvalidCommitWelcome) return false;
      if (!group.speaksDave(session.userId)) return false;
      const parsed = TransitionSchema.safeParse(d);
      if (!parsed.success) return closeBad(session, `invalid op ${op}: transition_id must be a u16`);
      if (op === Op.DaveTransitionReady) group.transitionReady(session.userId, parsed.data.transition_id);
      else group.invalidCommitWelcome(session.userId, parsed.data.transition_id);
      return true;
    },
    onClientBinary(session, op, payload) {
      if (op !== Op.DaveMlsKeyPackage && op !== Op.DaveMlsCommitWelcome) return false;
      if (!group.speaksDave(session.userId)) return false;
      if (op === Op.DaveMlsKeyPackage) group.keyPackage(session.userId, payload);
      else group.commitWelcome(session.userId, payload);
      return true;
    },
    onLeft(session) {
      const current = sessions.get(session.userId);
      if (current && current !== session) return; // a newer session of this user already took its place
      sessions.delete(session.userId);
      group.leave(session.userId);
    },
    close() {
      group.close();
      if (channel.router.mediaGate instanceof DaveMediaGate) channel.router.setGate(null);
    },
  };
}
