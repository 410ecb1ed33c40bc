/** HTTP listener limits as configuration: the env schema (part of the common config) and the typed values. */
import { z } from 'zod';

const ms = (dflt: number) => z.coerce.number().int().min(1).default(dflt);
const count = (dflt: number) => z.coerce.number().int().min(1).default(dflt);

/** Limits every HTTP listener applies (validated with the common config; tests pass small ones). */
export const httpLimitsShape = {
  /** Whole request, headers and body, must arrive within this (a slow body is answered 408 and closed). */
  RESOUND_HTTP_REQUEST_TIMEOUT_MS: ms(60_000),
  /** Request headers must arrive within this. */
  RESOUND_HTTP_HEADERS_TIMEOUT_MS: ms(15_000),
  /** A connection with no traffic for this long is closed (requests in flight and idle keep-alive sockets alike). */
  RESOUND_HTTP_IDLE_TIMEOUT_MS: ms(30_000),
  /** Open TCP connections per listener (WebSockets included); beyond it new ones are refused. */
  RESOUND_HTTP_MAX_CONNECTIONS: count(10_000),
  /** Open TCP connections per client IP per listener. */
  RESOUND_HTTP_MAX_CONNECTIONS_PER_IP: count(256),
};

export interface HttpLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 256,
};

export function httpLimitsOf(c: { [K in keyof typeof httpLimitsShape]: number }): HttpLimits {
  return {
    requestTimeoutMs: c.RESOUND_HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: c.RESOUND_HTTP_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: c.RESOUND_HTTP_IDLE_TIMEOUT_MS,
    maxConnections: c.RESOUND_HTTP_MAX_CONNECTIONS,
    maxConnectionsPerIp: c.RESOUND_HTTP_MAX_CONNECTIONS_PER_IP,
  };
}
