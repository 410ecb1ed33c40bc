import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gwMetric, until, type DjsClient } from '../gateway-helpers.ts';
import type { TestNode } from '../rest-helpers.ts';
import { clusterClient, startCluster, type Cluster, type ClusterNode } from './cluster-helpers.ts';

let cluster: Cluster;
let a: ClusterNode;
let b: ClusterNode;
const clients: DjsClient[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  // Only B is in the node set at first: the front sends every new client to B.
  b = await cluster.start('node-b');
  a = await cluster.start('node-a', { register: false });
});
afterAll(async () => {
  for (const c of clients) await c.destroy().catch(() => {});
  await cluster.close();
});

/** A real @discordjs/ws client whose REST is node A's API (GET /gateway/bot answers the front's URL). */
function client(): DjsClient {
  const c = clusterClient(`${a.lite.url}/api`, cluster.seed.token);
  clients.push(c);
  return c;
}

const bAsNode = () => ({ node: b.lite }) as TestNode;

const created = (c: DjsClient) =>
  c.dispatches.filter((p): p is Extract<GatewayDispatchPayload, { t: 'MESSAGE_CREATE' }> => p.t === 'MESSAGE_CREATE');

describe('two gateway nodes on one Redis', () => {
  it("a message posted on node A's REST API reaches a session on node B", async () => {
    const c = client();
    await c.manager.connect();
    expect(b.lite.hub.sessionCount).toBe(1);
    expect(a.lite.hub.sessionCount).toBe(0);
    const id = await a.post('from A to a session on B');
    await until(() => created(c).some((m) => m.d.id === id), 'MESSAGE_CREATE on B');
    expect(created(c).filter((m) => m.d.id === id)).toHaveLength(1);
    expect(created(c).find((m) => m.d.id === id)?.d.content).toBe('from A to a session on B');
  });

  it('draining node A moves its sessions to B: every dispatch posted meanwhile arrives exactly once', async () => {
    // Steer three new clients to A: A joins the node set, B is marked draining while they connect.
    await a.nodes.start();
    await b.nodes.setDraining(true);
    await cluster.observer.refresh();
    const movers = [client(), client(), client()];
    await Promise.all(movers.map((c) => c.manager.connect()));
    expect(a.lite.hub.attachedCount()).toBe(3);
    await b.nodes.setDraining(false);

    // Messages keep coming on both nodes' APIs while A drains.
    const posted: string[] = [];
    let stop = false;
    const poster = (async () => {
      for (let i = 0; !stop || i < 10; i++) {
        posted.push(await (i % 2 ? a : b).post(`during drain ${i}`));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await until(() => posted.length >= 5, 'first posts');
    await a.nodes.setDraining(true);
    await cluster.observer.refresh();
    const result = await a.lite.hub.drain(15_000, 5000);
    expect(result.attached).toBe(0);
    await until(() => b.lite.hub.attachedCount() === 4, 'sessions attached on B', 15_000);
    stop = true;
    await poster;
    posted.push(await b.post('after drain'));

    for (const c of movers) {
      await until(() => posted.every((id) => created(c).some((m) => m.d.id === id)), 'every message', 15_000);
      const ids = created(c).map((m) => m.d.id);
      expect(new Set(ids).size).toBe(ids.length); // none twice
      expect(posted.filter((id) => !ids.includes(id))).toEqual([]); // none lost
      expect(c.resumed).toBeGreaterThanOrEqual(1);
      expect(c.closes).toContain(4200); // op 7 → the client's own "resuming" close
    }
    for (const c of movers) {
      // One sequence series per session across the move: every s once, increasing.
      const seqs = c.dispatches.map((p) => p.s);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    // The three sessions were taken from the Redis store by B, with the dispatches A kept appending replayed.
    expect(await gwMetric(bAsNode(), 'resound_gateway_lite_ws_resumes_total', { result: 'taken' })).toBe(3);
    expect(await gwMetric(bAsNode(), 'resound_gateway_lite_ws_replayed_total')).toBeGreaterThan(0);
    expect(a.lite.hub.attachedCount()).toBe(0);
  });
});
