import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { RateLimitedLog } from './logger.ts';

export { DEFAULT_HTTP_LIMITS, httpLimitsOf, httpLimitsShape, type HttpLimits } from './http-limits.ts';
import type { HttpLimits } from './http-limits.ts';

/** One counter per registry, shared by every listener registered in it (voice has a TLS and a plain one). */
export function refusedCounter(registry: Registry): Counter<'reason'> {
  const name = 'resound_http_connections_refused_total';
  return (
    (registry.getSingleMetric(name) as Counter<'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Connections refused by a listener cap (total or per client IP)',
      labelNames: ['reason'],
      registers: [registry],
    })
  );
}

/** Requests answered 408 and idle connections closed, per registry (shared like the refusal counter). */
export function timeoutCounter(registry: Registry): Counter<'kind'> {
  const name = 'resound_http_timeouts_total';
  return (
    (registry.getSingleMetric(name) as Counter<'kind'> | undefined) ??
    new Counter({
      name,
      help: 'Requests not received in time (408) and connections closed for idling',
      labelNames: ['kind'],
      registers: [registry],
    })
  );
}

/** Open connections per client IP with a cap, for TCP listeners and WebSocket servers alike. */
export class PerIpCounter {
  private readonly open = new Map<string, number>();
  total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Takes a slot for `ip`, or says which cap refused it. */
  take(ip: string): 'total' | 'per_ip' | null {
    if (this.total >= this.maxTotal) return 'total';
    const n = this.open.get(ip) ?? 0;
    if (n >= this.maxPerIp) return 'per_ip';
    this.open.set(ip, n + 1);
    this.total++;
    return null;
  }

  release(ip: string): void {
    const n = this.open.get(ip) ?? 0;
    if (n <= 1) this.open.delete(ip);
    else this.open.set(ip, n - 1);
    this.total--;
  }
}

/**
 * Applies request/header/idle timeouts and connection caps to a Node HTTP(S) server before it listens. Refused plain
 * connections are answered 503; refused TLS connections are closed before the handshake (no channel to answer on).
 */
export function guardServer(
  server: Server,
  limits: HttpLimits,
  opts: { tls: boolean; registry: Registry; logger: Logger },
): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.timeout = limits.idleTimeoutMs;
  // Node enforces request and header timeouts on this tick; keep it well under the smallest timeout.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    10,
    Math.min(1000, Math.floor(server.headersTimeout / 4)),
  );
  const refused = refusedCounter(opts.registry);
  const timeouts = timeoutCounter(opts.registry);
  const log = new RateLimitedLog(opts.logger);
  // Fastify answers the 408 itself; this listener only counts and logs it.
  server.prependListener('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return;
    timeouts.inc({ kind: 'request' });
    log.warn('timeout:request', { ip: socket.remoteAddress }, 'request not received in time; answered 408');
  });
  const slots = new PerIpCounter(limits.maxConnections, limits.maxConnectionsPerIp);
  server.prependListener('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '?';
    const why = slots.take(ip);
    if (why) {
      refused.inc({ reason: why });
      log.warn(`refused:${why}`, { reason: why, ip }, 'connection refused: listener connection cap reached');
      // TLS: destroyed only after the TLS layer has wrapped it, so that layer sees the close and lets go of it.
      if (opts.tls) setImmediate(() => socket.destroy());
      else
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n',
        );
      return;
    }
    socket.once('close', () => slots.release(ip));
    socket.once('timeout', () => timeouts.inc({ kind: 'idle' }));
  });
}
