/**
 * The cache-hit load generator of `bench/proxy.ts`: keep-alive HTTP/1.1 GETs over raw TCP sockets, one request in
 * flight per connection (closed loop, like autocannon without pipelining). Each request's bytes are built once per
 * path and a response is parsed only as far as its status line, Content-Length and X-Resound-Cache, so the client
 * spends a fraction of what `http.Agent` spends per request: on a 2-core machine the load generator competes with the
 * server for the same cores, and a heavy client shows up as the server's latency.
 */
import net from 'node:net';

export interface HitRun {
  /** Latency of each request (ms), request written → last body byte read. */
  lat: number[];
  wall: number;
  errors: number;
  /** Answers whose X-Resound-Cache was not `expect`. */
  unexpected: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One connection's parser: accumulates a response head, then counts down its body. */
class Conn {
  private head: Buffer | undefined;
  private left = -1;
  private resolve: ((r: { status: number; cache: string }) => void) | undefined;
  private status = 0;
  private cache = '';

  constructor(
    readonly socket: net.Socket,
    onError: (err: Error) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', (err) => {
      onError(err);
      this.settle(0);
    });
    socket.on('close', () => this.settle(0));
  }

  send(request: Buffer): Promise<{ status: number; cache: string }> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.socket.write(request);
    });
  }

  private data(d: Buffer): void {
    let chunk = d;
    if (this.left < 0) {
      const buf: Buffer = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        this.head = buf;
        return;
      }
      this.head = undefined;
      const text = buf.toString('latin1', 0, end).toLowerCase();
      this.status = Number(text.slice(9, 12));
      this.left = Number(/\r\ncontent-length: *(\d+)/.exec(text)?.[1] ?? 0);
      this.cache = /\r\nx-resound-cache: *([a-z]+)/.exec(text)?.[1] ?? '';
      chunk = buf.subarray(end + 4);
    }
    this.left -= chunk.length;
    if (this.left <= 0) {
      this.left = -1;
      this.settle(this.status);
    }
  }

  /** Answers the request in flight (status 0: the connection failed under it). */
  private settle(status: number): void {
    const done = this.resolve;
    this.resolve = undefined;
    done?.({ status, cache: status ? this.cache : '' });
  }
}

/** `paths` in order over `connections` keep-alive connections to `base` (http://host:port). */
export async function hitLoad(base: string, paths: string[], connections: number, expect?: string): Promise<HitRun> {
  const { hostname, port } = new URL(base);
  const requests = new Map<string, Buffer>();
  const wire = (p: string): Buffer => {
    let b = requests.get(p);
    if (!b) requests.set(p, (b = Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`, 'latin1')));
    return b;
  };
  let failure: Error | undefined;
  const conns = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Conn>((resolve, reject) => {
          const s = net.connect(Number(port), hostname, () => resolve(new Conn(s, (e) => (failure = e))));
          s.once('error', reject);
        }),
    ),
  );
  const lat: number[] = [];
  let errors = 0;
  let unexpected = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      while (next < paths.length && !failure) {
        const request = wire(paths[next++]);
        const s = performance.now();
        const res = await c.send(request);
        lat.push(performance.now() - s);
        if (res.status !== 200) errors++;
        else if (expect && res.cache !== expect) unexpected++;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  for (const c of conns) c.socket.destroy();
  if (failure) throw failure;
  return { lat, wall, errors, unexpected };
}
