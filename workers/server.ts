import type { FastifyInstance } from 'fastify';
import { createHttpServer, listenExplained, logListening } from '../common/http.ts';
import type { HttpLimits } from '../common/connection-guard.ts';
import type { Logger } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { createRedis } from '../common/redis.ts';
import { mountDashboard } from './dashboard.ts';
import { WorkerMetrics } from './metrics.ts';
import type { Producers } from './producer.ts';

export interface WorkersServer {
  app: FastifyInstance;
  url: string;
  metrics: WorkerMetrics;
  close(): Promise<void>;
}

/** /healthz (Redis reachable), /metrics (queue depth, latency, failures) and the token-guarded dashboard. */
export async function startWorkersServer(opts: {
  host: string;
  port: number;
  redisUrl: string;
  token: string;
  producers: Producers;
  logger: Logger;
  /** Logger for the one `listening` line, which names the part itself (so not the part's child logger). */
  listenLogger?: Logger;
  registry?: Registry;
  httpLimits?: HttpLimits;
  /** Let the dashboard change queues (retry, clean, pause…); read-only when false or unset. */
  dashboardWritable?: boolean;
}): Promise<WorkersServer> {
  const registry = opts.registry ?? new Registry();
  const queues = Object.values(opts.producers.queues);
  const metrics = new WorkerMetrics(registry, () => queues);
  const probe = createRedis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  probe.on('error', () => {});
  const app = createHttpServer({
    part: 'workers',
    logger: opts.logger,
    registry,
    limits: opts.httpLimits,
    health: async () => {
      if (probe.status !== 'ready') await probe.connect().catch(() => {});
      if ((await probe.ping()) !== 'PONG') throw new Error('redis did not answer PING');
      return { redis: 'ok', queues: queues.map((q) => q.name) };
    },
  });
  await mountDashboard(app, {
    queues,
    token: opts.token,
    logger: opts.logger,
    registry,
    writable: opts.dashboardWritable,
  });
  const address = await listenExplained(
    { listener: 'workers dashboard', variable: 'WORKERS_PORT', host: opts.host, port: opts.port },
    () => app.listen({ host: opts.host, port: opts.port }),
  );
  const url = address.replace('[::1]', '127.0.0.1');
  logListening(opts.listenLogger ?? opts.logger, 'workers', url, { dashboard: `${url}/admin/queues` });
  return {
    app,
    url,
    metrics,
    close: async () => {
      await app.close();
      probe.disconnect();
    },
  };
}
