/** A Discord interactions endpoint app, written the way Discord's docs show (tests and the interactions bench). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyKey } from 'discord-interactions';

export interface HttpApp {
  url: string;
  /** Interactions that passed verifyKey, in order. */
  received: Array<Record<string, unknown>>;
  /** Requests verifyKey refused (answered 401). */
  refused: number;
  close(): Promise<void>;
}

/**
 * An interactions endpoint app as Discord's docs write one, on node:http: raw body, `verifyKey` from the official
 * `discord-interactions` package with the application's verify_key, 401 on a bad signature, PONG to PING, and
 * `onInteraction` for the rest (it writes the answer, or not).
 */
export async function startHttpApp(
  verifyKeyHex: string,
  onInteraction: (i: Record<string, unknown>, res: http.ServerResponse) => void | Promise<void>,
  port = 0,
): Promise<HttpApp> {
  const app: HttpApp = { url: '', received: [], refused: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const ok = await verifyKey(
        raw,
        String(req.headers['x-signature-ed25519'] ?? ''),
        String(req.headers['x-signature-timestamp'] ?? ''),
        verifyKeyHex,
      );
      if (!ok) {
        app.refused++;
        res.writeHead(401).end('invalid request signature');
        return;
      }
      const i = JSON.parse(raw.toString()) as Record<string, unknown>;
      if (i.type === 1) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 1 }));
        return;
      }
      app.received.push(i);
      await onInteraction(i, res);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/interactions`;
  app.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return app;
}
