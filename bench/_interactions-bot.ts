/**
 * The bench's gateway bot: a v10 gateway connection (Hello, Identify, heartbeats) that answers every
 * INTERACTION_CREATE with a type 4 callback over REST through one keep-alive agent — what a bot library does, minus
 * the library.
 */
import http from 'node:http';
import WebSocket from 'ws';

export async function gatewayBot(gatewayUrl: string, token: string, api: string): Promise<{ close(): Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const body = JSON.stringify({ type: 4, data: { content: 'pong' } });
  const ws = new WebSocket(`${gatewayUrl}?v=10&encoding=json`);
  let seq: number | null = null;
  let beat: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (raw: Buffer) => {
      const f = JSON.parse(raw.toString()) as { op: number; d: unknown; s: number | null; t: string | null };
      if (f.s !== null) seq = f.s;
      if (f.op === 10) {
        const interval = (f.d as { heartbeat_interval: number }).heartbeat_interval;
        beat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), interval);
        ws.send(
          JSON.stringify({
            op: 2,
            d: { token, intents: 1, properties: { os: 'linux', browser: 'bench', device: 'bench' } },
          }),
        );
      } else if (f.t === 'READY') resolve();
      else if (f.t === 'INTERACTION_CREATE') {
        const i = f.d as { id: string; token: string };
        const req = http.request(`${api}/interactions/${i.id}/${i.token}/callback?with_response=false`, {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        });
        req.on('response', (res) => res.resume());
        req.on('error', () => undefined);
        req.end(body);
      }
    });
  });
  await ready;
  return {
    close: async () => {
      clearInterval(beat);
      ws.close(1000);
      agent.destroy();
    },
  };
}
