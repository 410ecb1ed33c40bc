/** Gateway test helpers: a node with test-sized gateway settings, a real @discordjs/ws manager, a raw ws client. */
import zlib from 'node:zlib';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { GatewayIntentBits, type GatewayDispatchPayload } from 'discord-api-types/v10';
import { Decompress } from 'fzstd';
import WebSocket from 'ws';
import type { GatewayLiteOptions } from '../../gateway-lite/index.ts';
import { startTestNode, type TestNode } from './rest-helpers.ts';

/** Small heartbeats and no identify spacing, so suites run in seconds. */
export const GATEWAY_TEST_ENV: Record<string, string> = {
  GATEWAY_LITE_HEARTBEAT_MS: '1000',
  GATEWAY_LITE_MAX_CONCURRENCY: '16',
  GATEWAY_LITE_IDENTIFY_WINDOW_MS: '1',
};

export function startGatewayTestNode(
  env: Record<string, string> = {},
  extra: Pick<GatewayLiteOptions, 'bus' | 'commands' | 'sessionStore'> = {},
): Promise<TestNode> {
  return startTestNode({ ...GATEWAY_TEST_ENV, ...env }, extra);
}

/** A series' value from the node's registry (labels may be empty for an unlabelled counter). */
export async function gwMetric(t: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await t.node.registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n'))
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && want.every((w) => line.includes(w)))
      sum += Number(line.split(' ').pop());
  return sum;
}

export async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface DjsClient {
  rest: REST;
  manager: WebSocketManager;
  dispatches: GatewayDispatchPayload[];
  closes: number[];
  heartbeats: number;
  resumed: number;
  destroy(): Promise<void>;
}

/** A real @discordjs/ws WebSocketManager (and @discordjs/rest) pointed at the test node. */
export function djsClient(
  t: TestNode,
  opts: { compression?: CompressionMethod | null; intents?: number; shardCount?: number | null; token?: string } = {},
): DjsClient {
  const rest = new REST({ api: t.api, version: '10' }).setToken(opts.token ?? t.seed.token);
  const manager = new WebSocketManager({
    token: opts.token ?? t.seed.token,
    intents: opts.intents ?? GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    rest,
    compression: opts.compression ?? null,
    shardCount: opts.shardCount ?? null,
  });
  return watchManager(rest, manager);
}

/** Records what a WebSocketManager sees: dispatches, closes, heartbeats, resumes. */
export function watchManager(rest: REST, manager: WebSocketManager): DjsClient {
  const c: DjsClient = {
    rest,
    manager,
    dispatches: [],
    closes: [],
    heartbeats: 0,
    resumed: 0,
    destroy: async () => {
      await manager.destroy();
    },
  };
  manager.on(WebSocketShardEvents.Dispatch, (p) => c.dispatches.push(p));
  manager.on(WebSocketShardEvents.Closed, (code) => c.closes.push(code));
  manager.on(WebSocketShardEvents.HeartbeatComplete, () => c.heartbeats++);
  manager.on(WebSocketShardEvents.Resumed, () => c.resumed++);
  return c;
}

export interface Frame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/**
 * A raw `ws` client decoding plain, zlib-stream (one inflate context) or zstd-stream (fzstd's streaming decoder,
 * independent of the server's native zstd) frames; records every payload and the close code.
 */
export class RawClient {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;
  private zstdOut: Uint8Array[] = [];
  private readonly zstd?: Decompress;
  private readonly inflate?: zlib.Inflate;
  private inflating: Promise<void> = Promise.resolve();
  /** Compressed bytes per binary frame, for size checks. */
  readonly wireSizes: number[] = [];

  constructor(url: string, query = 'v=10&encoding=json') {
    this.ws = new WebSocket(`${url}?${query}`);
    const compress = new URLSearchParams(query).get('compress');
    if (compress === 'zstd-stream') this.zstd = new Decompress((chunk) => this.zstdOut.push(chunk));
    if (compress === 'zlib-stream') this.inflate = zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH });
    this.opened = new Promise((res, rej) => {
      this.ws.once('open', () => res());
      this.ws.once('error', rej);
    });
    this.closed = new Promise((res) =>
      this.ws.once('close', (code) => {
        this.closeCode = code;
        res(code);
      }),
    );
    this.ws.on('message', (data: Buffer, binary: boolean) => this.onData(data, binary));
  }

  private onData(data: Buffer, binary: boolean): void {
    if (!binary) return void this.frames.push(JSON.parse(data.toString()) as Frame);
    this.wireSizes.push(data.length);
    if (this.zstd) {
      this.zstd.push(new Uint8Array(data));
      const text = Buffer.concat(this.zstdOut.splice(0)).toString();
      this.frames.push(JSON.parse(text) as Frame);
      return;
    }
    const inflate = this.inflate!;
    // Each binary frame ends with 00 00 ff ff (sync flush): inflating it alone yields exactly one payload.
    this.inflating = this.inflating.then(
      () =>
        new Promise<void>((res) => {
          const out: Buffer[] = [];
          const onData = (c: Buffer) => out.push(c);
          inflate.on('data', onData);
          inflate.write(data, () => {
            inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
              inflate.off('data', onData);
              this.frames.push(JSON.parse(Buffer.concat(out).toString()) as Frame);
              res();
            });
          });
        }),
    );
  }

  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  async next(pred: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    let found: Frame | undefined;
    await until(() => (found = this.frames.find(pred)) !== undefined, what, timeoutMs);
    return found!;
  }

  dispatches(t: string): Frame[] {
    return this.frames.filter((f) => f.op === 0 && f.t === t);
  }

  /** Hello, then Identify; resolves with READY. */
  async identify(token: string, d: Record<string, unknown> = {}): Promise<Frame> {
    await this.next((f) => f.op === 10, 'hello');
    this.send(2, { token, intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages, properties: {}, ...d });
    return this.next((f) => f.t === 'READY', 'READY');
  }

  close(code = 1000): void {
    this.ws.close(code);
  }
}
