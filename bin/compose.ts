import type { PartContext, RunningPart } from '../common/part.ts';
import type { VoiceGateway } from '../signaling/index.ts';

/**
 * The composition root: the only module that knows more than one part. Each part is built from its face; the wires
 * between them are made here (today: the workers' pre-render enqueuer on the media service's upload events), so no
 * part imports another part's starter and the import graph has no cycle. Faces are imported lazily so starting one
 * part never loads another's dependencies (sharp, opus, BullMQ…) unless a wire needs them.
 */

/** The voice server running in this process, if any: the voice bridge of a gateway-lite part here hands it out. */
let voiceHere: VoiceGateway | null = null;

/** The voice server of this process (tests and diagnostics compare its sessions with the gateway's voice states). */
export const localVoiceGateway = (): VoiceGateway | null => voiceHere;

/**
 * The voice server, on the voice link (bin/voice-link.ts): its session ends and its departure reach the platform's
 * voice bridge, and the bridge's release commands reach it. Closing announces the departure first (placement
 * withdrawn, users re-placed elsewhere), then closes the sessions.
 */
export async function startVoice(ctx: PartContext): Promise<RunningPart> {
  const { part, gateway, config } = await (await import('../signaling/index.ts')).startVoicePart(ctx);
  const { attachVoiceServer, openVoiceLink } = await import('./voice-link.ts');
  const logger = ctx.logger.child({ part: 'voice', wire: 'voice-link' });
  const redisUrl = async () => (await ctx.redis()).url;
  const link = await openVoiceLink(config.VOICE_PLACEMENT, config.VOICE_PLACEMENT_PREFIX, redisUrl, logger);
  const end = attachVoiceServer(gateway, link.link, logger);
  voiceHere = gateway;
  return {
    ...part,
    close: async () => {
      if (voiceHere === gateway) voiceHere = null;
      await end.announceGone();
      end.detach();
      await part.close();
      await link.close();
    },
  };
}

export async function startWorkers(ctx: PartContext): Promise<RunningPart> {
  return (await import('../workers/index.ts')).start(ctx);
}

/**
 * The media proxy, with every upload enqueued for pre-rendering by the workers part when MEDIA_PROXY_PRERENDER is on.
 * Closing stops the proxy first (no new uploads), then waits for enqueues in flight, then releases the producers.
 */
export async function startProxy(ctx: PartContext): Promise<RunningPart> {
  const proxy = await (await import('../media-proxy/index.ts')).startMediaProxy(ctx);
  if (!proxy.config.prerenderOnUpload) return proxy;
  const { prerenderHookFromEnv } = await import('../workers/index.ts');
  const logger = ctx.logger.child({ part: 'proxy', wire: 'prerender' });
  const prerender = prerenderHookFromEnv(ctx.env, ctx.common.RESOUND_DATA_DIR, (await ctx.redis()).url, logger);
  const inflight = new Set<Promise<void>>();
  proxy.service.on('upload', (e) => {
    // The service logs a rejected listener; tracking the promise lets close() wait for it.
    const p = prerender.hook(e).finally(() => inflight.delete(p));
    inflight.add(p);
    return p;
  });
  return {
    name: proxy.name,
    urls: proxy.urls,
    close: async () => {
      await proxy.close();
      await Promise.allSettled(inflight);
      await prerender.close();
    },
  };
}

/**
 * gateway-lite with its voice bridge on the voice fleet: the voice server of this process (`npm start`), or the
 * Redis-placed fleet (VOICE_PLACEMENT=redis) when voice servers run elsewhere.
 */
export async function startGatewayLite(ctx: PartContext): Promise<RunningPart> {
  const { openVoiceFleet } = await import('./voice-fleet.ts');
  const voice = await openVoiceFleet(ctx, () => voiceHere?.endpoint ?? null);
  const running = await (
    await import('../gateway-lite/index.ts')
  )
    .startWith(ctx, { voiceFleet: voice.fleet })
    .catch(async (err: unknown) => {
      await voice.close();
      throw err;
    });
  return {
    ...running,
    close: async () => {
      const handed = await running.close();
      await voice.close();
      return handed;
    },
  };
}

export async function startGatewayFront(ctx: PartContext): Promise<RunningPart> {
  return (await import('../gateway-lite/index.ts')).startFront(ctx);
}
