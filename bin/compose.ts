import type { PartContext, RunningPart } from '../common/part.ts';

/**
 * The composition root: the only module that knows more than one part. Each part is built from its face; the wires
 * between them are made here (today: the workers' pre-render enqueuer on the media service's upload events), so no
 * part imports another part's starter and the import graph has no cycle. Faces are imported lazily so starting one
 * part never loads another's dependencies (sharp, opus, BullMQ…) unless a wire needs them.
 */

export async function startVoice(ctx: PartContext): Promise<RunningPart> {
  return (await import('../signaling/index.ts')).startVoice(ctx);
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

export async function startGatewayLite(ctx: PartContext): Promise<RunningPart> {
  return (await import('../gateway-lite/index.ts')).start(ctx);
}

export async function startGatewayFront(ctx: PartContext): Promise<RunningPart> {
  return (await import('../gateway-lite/index.ts')).startFront(ctx);
}
