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

/**
 * Mounts bull-board under /admin/queues; every request there must carry the admin token. Read-only unless
 * `writable`: bull-board's own read-only mode, and every non-GET request refused with 405 besides, so no route
 * (retry, clean, add, promote, pause) can change a queue from the dashboard.
 */
export async function mountDashboard(
  app: FastifyInstance,
  opts: { queues: Queue[]; token: string; logger: Logger; registry: Registry; writable?: boolean },
): Promise<void> {
  const readOnly = opts.writable !== true;
  const denied = new Counter({
    name: 'resound_workers_admin_denied_total',
    help: 'Dashboard requests refused for a missing or wrong admin token',
    registers: [opts.registry],
  });
  const rlog = new RateLimitedLog(opts.logger);
  const adapter = new FastifyAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    serverAdapter: adapter,
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (authorized(req.headers.authorization, opts.token)) {
        if (!readOnly || req.method === 'GET' || req.method === 'HEAD') return;
        denied.inc();
        const body: ErrorBody = {
          error: {
            code: 'read_only',
            message: 'the dashboard is read-only; set WORKERS_DASHBOARD_WRITABLE=true to change queues from it',
          },
        };
        return reply.code(405).header('allow', 'GET, HEAD').send(body);
      }
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
