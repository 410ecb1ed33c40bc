import net from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from '../../../common/metrics.ts';
import { counter } from './metrics.ts';
import type { GatewayNodeInfo } from './nodes.ts';

export interface GatewayFrontOptions {
  host: string;
  port: number;
  /** The live gateway nodes (GatewayNodes.nodes): draining ones get no new connections. */
  nodes: () => GatewayNodeInfo[];
  registry: Registry;
  logger: Logger;
}

/**
 * The one gateway URL clients know (what GET /gateway/bot and READY's resume_gateway_url point at when nodes run
 * behind it): a TCP pass-through that hands each new connection to a live, non-draining node, round robin. It reads
 * no bytes, so WebSocket upgrades, compression and TLS-less ws:// all pass untouched; a session moved off a draining
 * node reconnects here and lands on a node that can take it from the session store.
 *
 * In production a load balancer (or DNS over the nodes) plays this part; this one exists so two nodes on one machine
 * (tests, `resound start gateway-front`) behave the same way.
 */
export class GatewayFront {
  private server: net.Server | undefined;
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly routed;
  private readonly refused;

  constructor(private readonly opts: GatewayFrontOptions) {
    this.routed = counter(opts.registry, 'resound_gateway_front_connections_total', 'Connections handed to a node', [
      'node',
    ]);
    this.refused = counter(
      opts.registry,
      'resound_gateway_front_refused_total',
      'Connections with no node to take them',
    );
  }

  /** Listens; resolves with ws://host:port. */
  async listen(): Promise<string> {
    const server = net.createServer((client) => this.route(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    return `ws://${this.opts.host}:${port}`;
  }

  private pick(): GatewayNodeInfo | undefined {
    const open = this.opts.nodes().filter((n) => !n.draining);
    if (open.length === 0) return undefined;
    return open[this.next++ % open.length];
  }

  private route(client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    const node = this.pick();
    if (!node) {
      this.refused.inc();
      // A plain HTTP answer: the WebSocket client sees a failed handshake and retries (resumable).
      client.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const target = new URL(node.url);
    const upstream = net.connect(Number(target.port), target.hostname);
    this.routed.inc({ node: node.id });

    this.sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
