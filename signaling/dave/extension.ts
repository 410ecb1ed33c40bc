import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
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

/** The SFU's E2EE gate, by the name the DAVE layer knows it: its rules live with the router (sfu/e2ee-gate.ts). */
export { E2eeGate as DaveMediaGate } from '../../sfu/index.ts';

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
    // A timed-out transition changes membership outside any client message.
    onTransitionExecuted: () => media.syncE2eeMembers(),
  });
  const media = channel.router;
  media.setE2eeGroup(group);
  /** Runs a group step, then brings the SFU's gate (in a worker, a mirror of the group) up to date. */
  const step = <T>(f: () => T): T => {
    const r = f();
    media.syncE2eeMembers();
    return r;
  };
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
      const r = step(() => group.admit(session.userId, session.maxDaveVersion));
      if (r.ok) return r.protocolVersion;
      queueMicrotask(() => session.conn?.close(r.code, r.reason));
      return 0;
    },
    onSessionDescribed(session) {
      step(() => group.ready(session.userId));
    },
    onClientMessage(session, op, d) {
      if (op !== Op.DaveTransitionReady && op !== Op.DaveMlsInvalidCommitWelcome) return false;
      if (!group.speaksDave(session.userId)) return false;
      const parsed = TransitionSchema.safeParse(d);
      if (!parsed.success) return closeBad(session, `invalid op ${op}: transition_id must be a u16`);
      const id = parsed.data.transition_id;
      if (op === Op.DaveTransitionReady) step(() => group.transitionReady(session.userId, id));
      else step(() => group.invalidCommitWelcome(session.userId, id));
      return true;
    },
    onClientBinary(session, op, payload) {
      if (op !== Op.DaveMlsKeyPackage && op !== Op.DaveMlsCommitWelcome) return false;
      if (!group.speaksDave(session.userId)) return false;
      if (op === Op.DaveMlsKeyPackage) step(() => group.keyPackage(session.userId, payload));
      else step(() => group.commitWelcome(session.userId, payload));
      return true;
    },
    onLeft(session) {
      const current = sessions.get(session.userId);
      if (current && current !== session) return; // a newer session of this user already took its place
      sessions.delete(session.userId);
      step(() => group.leave(session.userId));
    },
    close() {
      group.close();
      media.setE2eeGroup(null);
    },
  };
}
