import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, closeReason } from './close-codes.ts';
import { createEncoder, parseCompression, type Compression, type CompressionOptions } from './compression.ts';
import type { GatewayHub } from './hub.ts';
import { WS_MAX_PAYLOAD } from './limits.ts';

export const GATEWAY_PATH = '/gateway';

export interface GatewayServerOptions {
  hub: GatewayHub;
  compression: CompressionOptions;
  path?: string;
}

type Query = { ok: true; compress: Compression } | { ok: false; reason: string };

/** `?v=10&encoding=json&compress=…`: only v10 JSON is served (ETF is not); unknown values are refused with 4012. */
export function parseGatewayQuery(params: URLSearchParams): Query {
  const v = params.get('v');
  if (v !== null && v !== '10') return { ok: false, reason: `API version ${v} is not served; use v=10` };
  const encoding = params.get('encoding');
  if (encoding !== null && encoding !== 'json') return { ok: false, reason: `encoding ${encoding} is not served` };
  const compress = parseCompression(params.get('compress'));
  if (!compress) return { ok: false, reason: `compress=${params.get('compress')} is not served` };
  return { ok: true, compress };
}

/**
 * The gateway WebSocket endpoint on an existing HTTP server (the REST listener): `ws` in noServer mode takes the
 * server's 'upgrade' events for `path`; everything else is answered 404. The socket leaves the HTTP idle timeout
 * behind (heartbeats police it from then on).
 */
export function attachGatewayServer(server: Server, opts: GatewayServerOptions): { close(): void } {
  const path = opts.path ?? GATEWAY_PATH;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const tcp = socket as Duplex & { setTimeout?(ms: number): void; setNoDelay?(v: boolean): void };
    tcp.setTimeout?.(0);
    tcp.setNoDelay?.(true);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const q = parseGatewayQuery(url.searchParams);
      const remote = req.socket.remoteAddress ?? '?';
      if (!q.ok) {
        opts.hub.log.warn('close:4012', { remote, reason: q.reason }, 'gateway socket refused');
        opts.hub.opts.metrics.closes.inc({ code: String(CloseCode.INVALID_API_VERSION), by: 'server' });
        ws.close(CloseCode.INVALID_API_VERSION, closeReason(q.reason));
        return;
      }
      const m = opts.hub.opts.metrics;
      const bytesIn = m.compressionIn.labels({ compress: q.compress });
      const bytesOut = m.compressionOut.labels({ compress: q.compress });
      const encoder = createEncoder(q.compress, opts.compression, (raw, sent) => {
        bytesIn.inc(raw);
        bytesOut.inc(sent);
      });
      opts.hub.connect(ws, encoder, remote);
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close: () => {
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
