import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from '../common/http.ts';
import { RateLimitedLog, type Logger } from '../common/logger.ts';
import { Counter, type Registry } from '../common/metrics.ts';

export const DASHBOARD_PATH = '/admin/queues';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Accepts `Authorization: Bearer <token>` (scripts) or HTTP Basic with the token as password (browsers prompt for
 * it on the 401), so the dashboard needs no login page of its own.
 */
export function authorized(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (/^bearer$/i.test(scheme)) return same(value.trim(), token);
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
    return same(decoded.slice(decoded.indexOf(':') + 1), token);
  }
  return false;
}

/** Mounts bull-board under /admin/queues; every request there must carry the admin token. */
export async function mountDashboard(
  app: FastifyInstance,
  opts: { queues: Queue[]; token: string; logger: Logger; registry: Registry },
): Promise<void> {
  const denied = new Counter({
    name: 'resound_workers_admin_denied_total',
    help: 'Dashboard requests refused for a missing or wrong admin token',
    registers: [opts.registry],
  });
  const rlog = new RateLimitedLog(opts.logger);
  const adapter = new FastifyAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: opts.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (authorized(req.headers.authorization, opts.token)) return;
      denied.inc();
      rlog.warn(
        'admin-denied',
        { ip: req.ip, url: req.url.split('?')[0] },
        'dashboard request without a valid admin token',
      );
      // Answered here rather than thrown: bull-board's plugin installs its own error handler, which would reshape it.
      const body: ErrorBody = {
        error: {
          code: 'unauthorized',
          message: 'the dashboard needs the admin token (Bearer, or Basic with the token as password)',
        },
      };
      return reply.code(401).header('www-authenticate', 'Basic realm="resound-workers", charset="UTF-8"').send(body);
    });
    await scope.register(adapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
