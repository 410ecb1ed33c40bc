/**
 * The bench's gateway bot: hears INTERACTION_CREATE for its user and answers each with a type 4 callback over REST,
 * through one keep-alive agent. It listens on the node's dispatch bus — the stream the gateway sessions are fed
 * from — until the v10 gateway socket is merged in; then it connects like any bot.
 */
import http from 'node:http';
import type { GatewayLite, SeedResult } from '../gateway-lite/index.ts';

export async function gatewayBot(
  node: GatewayLite,
  seed: SeedResult,
  api: string,
): Promise<{ close(): Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const body = JSON.stringify({ type: 4, data: { content: 'pong' } });
  const off = node.bus.subscribe((e) => {
    if (e.t !== 'INTERACTION_CREATE' || !e.userIds?.includes(seed.botId)) return;
    const i = e.d as { id: string; token: string };
    const req = http.request(`${api}/interactions/${i.id}/${i.token}/callback?with_response=false`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    });
    req.on('response', (res) => res.resume());
    req.on('error', () => undefined);
    req.end(body);
  });
  return {
    close: async () => {
      off();
      agent.destroy();
    },
  };
}
