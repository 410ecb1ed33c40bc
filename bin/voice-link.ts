import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createRedis, watchRedis, type Redis } from '../common/redis.ts';
import type { VoiceFleetEvent, VoiceReleaseRequest } from '../gateway-lite/index.ts';
import type { VoiceGateway } from '../signaling/index.ts';

/**
 * The wire between voice servers and the platform's voice bridge. Voice → platform: a session ended, a server is
 * going away. Platform → voice: release (end) the session admitted with a given token. Two carriers, same messages:
 * in-process (`npm start`: every part in one process, no Redis needed) and Redis pub/sub (VOICE_PLACEMENT=redis: a
 * fleet of voice servers and gateway nodes in separate processes). Fire-and-forget is enough: a missed session end
 * leaves a voice state until the user's next op 4; a missed server-gone is caught by the placement lease expiring.
 */
export type VoiceLinkCommand = { kind: 'release' } & VoiceReleaseRequest;

export interface VoiceLink {
  publishEvent(e: VoiceFleetEvent): Promise<void>;
  onEvent(listener: (e: VoiceFleetEvent) => void): () => void;
  publishCommand(c: VoiceLinkCommand): Promise<void>;
  onCommand(listener: (c: VoiceLinkCommand) => void): () => void;
  close(): Promise<void>;
}

/** What the platform learns about a token: enough to match a session end to a hand-out, useless as a credential. */
export function tokenIdOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

interface LinkEvents {
  event: [VoiceFleetEvent];
  command: [VoiceLinkCommand];
}

/** One process: an emitter, delivering on the next turn as pub/sub would (no re-entrancy into the publisher). */
export class InProcessVoiceLink implements VoiceLink {
  private readonly bus = new EventEmitter<LinkEvents>();

  publishEvent(e: VoiceFleetEvent): Promise<void> {
    setImmediate(() => this.bus.emit('event', e));
    return Promise.resolve();
  }

  onEvent(listener: (e: VoiceFleetEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }

  publishCommand(c: VoiceLinkCommand): Promise<void> {
    setImmediate(() => this.bus.emit('command', c));
    return Promise.resolve();
  }

  onCommand(listener: (c: VoiceLinkCommand) => void): () => void {
    this.bus.on('command', listener);
    return () => this.bus.off('command', listener);
  }

  close(): Promise<void> {
    this.bus.removeAllListeners();
    return Promise.resolve();
  }
}

/** Several processes: two Redis channels under the fleet's key prefix (VOICE_PLACEMENT_PREFIX). */
export class RedisVoiceLink implements VoiceLink {
  private readonly local = new InProcessVoiceLink();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly events: string;
  private readonly commands: string;

  private constructor(url: string, prefix: string, log: Logger) {
    this.pub = createRedis(url, { maxRetriesPerRequest: 1 });
    this.sub = createRedis(url);
    watchRedis(this.pub, log, 'voice-link');
    watchRedis(this.sub, log, 'voice-link-sub');
    this.events = `${prefix}:link:events`;
    this.commands = `${prefix}:link:commands`;
    this.sub.on('message', (channel: string, raw: string) => {
      let msg: unknown;
      try {
        msg = JSON.parse(raw);
      } catch {
        return; // not ours: the channel names are namespaced, a stray publisher is ignored
      }
      if (channel === this.events) void this.local.publishEvent(msg as VoiceFleetEvent);
      else if (channel === this.commands) void this.local.publishCommand(msg as VoiceLinkCommand);
    });
  }

  static async open(url: string, prefix: string, log: Logger): Promise<RedisVoiceLink> {
    const link = new RedisVoiceLink(url, prefix, log);
    await link.sub.subscribe(link.events, link.commands);
    return link;
  }

  async publishEvent(e: VoiceFleetEvent): Promise<void> {
    await this.pub.publish(this.events, JSON.stringify(e));
  }

  onEvent(listener: (e: VoiceFleetEvent) => void): () => void {
    return this.local.onEvent(listener);
  }

  async publishCommand(c: VoiceLinkCommand): Promise<void> {
    await this.pub.publish(this.commands, JSON.stringify(c));
  }

  onCommand(listener: (c: VoiceLinkCommand) => void): () => void {
    return this.local.onCommand(listener);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }
}

/**
 * The voice server's end of the link: publishes every session end, obeys release commands for its own sessions, and
 * on `announceGone()` withdraws from placement and tells the platform before its sessions are closed, so the bridge
 * re-places users on a live server instead of this one.
 */
export function attachVoiceServer(gw: VoiceGateway, link: VoiceLink, log: Logger) {
  const onEnded = (s: { guildId: string; channelId: string; userId: string; token: string }, code: number) =>
    void link
      .publishEvent({
        kind: 'session-ended',
        guildId: s.guildId,
        channelId: s.channelId,
        userId: s.userId,
        tokenId: tokenIdOf(s.token),
        code,
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'voice link: session end not published'));
  gw.server.on('sessionEnded', onEnded);
  const offCommand = link.onCommand((c) => {
    if (c.kind !== 'release') return;
    const s = gw.server.sessionOf(c.guildId, c.userId);
    if (s && tokenIdOf(s.token) === c.tokenId) gw.server.disconnect(c.guildId, c.userId, c.code, c.reason);
  });
  return {
    async announceGone(): Promise<void> {
      await gw.placement?.withdraw(gw.endpoint).catch(() => undefined);
      await link
        .publishEvent({ kind: 'server-gone', endpoint: gw.endpoint })
        .catch((err: Error) => log.warn({ err: err.message }, 'voice link: server-gone not published'));
    },
    detach(): void {
      gw.server.off('sessionEnded', onEnded);
      offCommand();
    },
  };
}

/** The link both parts of one process share when there is no Redis fleet (`npm start`). */
let inProcess: InProcessVoiceLink | null = null;

/**
 * The link for this deployment: Redis pub/sub under VOICE_PLACEMENT_PREFIX when VOICE_PLACEMENT=redis (voice servers
 * and gateway nodes may be separate processes), else the process's own in-process link. `close` releases only what
 * this caller opened.
 */
export async function openVoiceLink(
  placement: 'off' | 'redis',
  prefix: string,
  redisUrl: () => Promise<string>,
  log: Logger,
): Promise<{ link: VoiceLink; close(): Promise<void> }> {
  if (placement === 'redis') {
    const link = await RedisVoiceLink.open(await redisUrl(), prefix, log);
    return { link, close: () => link.close() };
  }
  inProcess ??= new InProcessVoiceLink();
  return { link: inProcess, close: async () => {} };
}
