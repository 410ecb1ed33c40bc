import type { Logger } from 'pino';
import type { PartContext } from '../common/part.ts';
import { createRedis, watchRedis, type Redis } from '../common/redis.ts';
import type {
  VoiceFleet,
  VoiceFleetEvent,
  VoiceJoinRequest,
  VoiceJoinTicket,
  VoiceReleaseRequest,
} from '../gateway-lite/index.ts';
import type { VoicePlacement, VoiceTokenSigner } from '../signaling/index.ts';
import { openVoiceLink, tokenIdOf, type VoiceLink } from './voice-link.ts';

export interface ComposedVoiceFleetOptions {
  /** Signs with the voice servers' secret (VOICE_TOKEN_SECRET or the one in the shared data folder). */
  signer: VoiceTokenSigner;
  tokenTtlMs: number;
  /** Fleet placement (VOICE_PLACEMENT=redis); null = the one voice server at `endpoint`. */
  placement: VoicePlacement | null;
  /** The voice server of this process (npm start) while it runs, else null. */
  endpoint: () => string | null;
  link: VoiceLink;
  logger: Logger;
  /** How often placement is polled for servers whose lease expired (a crash announces nothing). */
  pollMs?: number;
}

/**
 * gateway-lite's VoiceFleet made from signaling's public face: placement picks the server (the one already hosting the
 * channel, else the least loaded live one), the signer mints the join token with the main-gateway session id as its
 * session, and the link carries session ends and server departures back.
 */
export class ComposedVoiceFleet implements VoiceFleet {
  private readonly listeners = new Set<(e: VoiceFleetEvent) => void>();
  private readonly offLink: () => void;
  private live = new Set<string>();
  private readonly announced = new Set<string>();
  private poller: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ComposedVoiceFleetOptions) {
    this.offLink = opts.link.onEvent((e) => this.emit(e));
    if (opts.placement) {
      this.poller = setInterval(() => void this.poll(), opts.pollMs ?? 3000);
      this.poller.unref();
    }
  }

  async join(req: VoiceJoinRequest): Promise<VoiceJoinTicket> {
    const endpoint = await this.place(req.guildId, req.channelId);
    const token = this.opts.signer.sign({ ...req, expiresAt: Date.now() + this.opts.tokenTtlMs });
    return { endpoint, token, tokenId: tokenIdOf(token) };
  }

  async release(req: VoiceReleaseRequest): Promise<void> {
    await this.opts.link.publishCommand({ kind: 'release', ...req });
  }

  subscribe(listener: (e: VoiceFleetEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.offLink();
    this.listeners.clear();
  }

  private async place(guildId: string, channelId: string): Promise<string | null> {
    const p = this.opts.placement;
    if (!p) return this.opts.endpoint();
    const live = await p.liveServers();
    if (live.length === 0) return this.opts.endpoint();
    return p.assign(guildId, channelId, live[0].endpoint);
  }

  /** A server that stopped reporting is gone; one seen live again may be announced gone again later. */
  private async poll(): Promise<void> {
    try {
      const now = new Set((await this.opts.placement!.liveServers()).map((s) => s.endpoint));
      for (const e of this.live) if (!now.has(e)) this.emit({ kind: 'server-gone', endpoint: e });
      for (const e of now) this.announced.delete(e);
      this.live = now;
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'voice placement poll failed');
    }
  }

  private emit(e: VoiceFleetEvent): void {
    // A graceful departure is announced on the link and then seen missing by the poll: report it once.
    if (e.kind === 'server-gone') {
      if (this.announced.has(e.endpoint)) return;
      this.announced.add(e.endpoint);
      this.live.delete(e.endpoint);
    }
    for (const l of this.listeners) l(e);
  }
}

/**
 * The fleet a gateway-lite part uses, from the same variables the voice servers read (VOICE_PLACEMENT,
 * VOICE_PLACEMENT_PREFIX, VOICE_TOKEN_SECRET or the data folder's secret, VOICE_TOKEN_TTL_S).
 */
export async function openVoiceFleet(
  ctx: PartContext,
  endpoint: () => string | null,
): Promise<{ fleet: ComposedVoiceFleet; close(): Promise<void> }> {
  const { loadSignalingConfig, voiceTokenSecret, VoicePlacement, VoiceTokenSigner } =
    await import('../signaling/index.ts');
  const config = loadSignalingConfig(ctx.env);
  const logger = ctx.logger.child({ part: 'gateway-lite', component: 'voice-fleet' });
  const redisUrl = async () => (await ctx.redis()).url;
  const link = await openVoiceLink(config.VOICE_PLACEMENT, config.VOICE_PLACEMENT_PREFIX, redisUrl, logger);
  let redis: Redis | null = null;
  if (config.VOICE_PLACEMENT === 'redis') {
    redis = createRedis(await redisUrl(), { maxRetriesPerRequest: 1 });
    watchRedis(redis, logger, 'voice-fleet');
  }
  const fleet = new ComposedVoiceFleet({
    signer: new VoiceTokenSigner(voiceTokenSecret(config, ctx.common.RESOUND_DATA_DIR)),
    tokenTtlMs: config.VOICE_TOKEN_TTL_S * 1000,
    placement: redis ? new VoicePlacement({ redis, prefix: config.VOICE_PLACEMENT_PREFIX }) : null,
    endpoint,
    link: link.link,
    logger,
  });
  if (!redis && endpoint() === null)
    logger.warn('no voice server in this process and VOICE_PLACEMENT=off: op 4 gets VOICE_SERVER_UPDATE endpoint null');
  return {
    fleet,
    close: async () => {
      await fleet.close();
      await link.close();
      redis?.disconnect();
    },
  };
}
