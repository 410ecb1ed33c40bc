/**
 * Outgoing HTTP to application endpoints, guarded: a URL's host is resolved once, every address is checked against
 * the blocked ranges (loopback, private, link-local, CGNAT, multicast, reserved — v4 and v6, v4-mapped included)
 * unless the operator allowed it, and the request connects to that checked address (so a DNS answer cannot change
 * between the check and the connect). Connect and response timeouts bound each request; bodies are capped.
 */
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

export interface OutboundPolicy {
  /** CIDRs or addresses allowed even though they sit in a blocked range (development, tests). */
  allow: string[];
  connectTimeoutMs: number;
  /** From sending the request to the last byte of the answer. */
  responseTimeoutMs: number;
  maxResponseBytes: number;
}

export type OutboundErrorKind = 'bad_url' | 'blocked' | 'dns' | 'connect_timeout' | 'timeout' | 'network' | 'too_large';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

const BLOCKED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
const BLOCKED_V6 = [
  '::/128',
  '::1/128',
  '64:ff9b::/96',
  '100::/64',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

function toList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(addr) === 0) throw new RangeError(`not an address or CIDR: ${c}`);
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

const blocked = toList([...BLOCKED_V4, ...BLOCKED_V6]);

/** Keep-alive agents: a busy endpoint app gets its deliveries over warm connections. */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export class OutboundClient {
  private readonly allowed: BlockList;

  constructor(readonly policy: OutboundPolicy) {
    this.allowed = toList(policy.allow);
  }

  /** Why an address may not be reached, or null when it may. */
  refusal(address: string): string | null {
    let addr = address;
    let family: 'ipv4' | 'ipv6' = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
    if (mapped) [addr, family] = [mapped[1], 'ipv4'];
    if (this.allowed.check(addr, family)) return null;
    return blocked.check(addr, family) ? `${address} is in a blocked address range` : null;
  }

  /** Parse and resolve a URL, refusing schemes other than http(s), credentials and blocked addresses. */
  async resolve(raw: string): Promise<{ url: URL; address: string }> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundError('bad_url', 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new OutboundError('bad_url', 'scheme must be http or https');
    if (url.username || url.password) throw new OutboundError('bad_url', 'credentials in the URL are not allowed');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = (await lookup(host, { all: true })).map((a) => a.address);
      } catch (err) {
        throw new OutboundError('dns', `could not resolve ${host}: ${(err as Error).message}`);
      }
    }
    // Every answer must be allowed: a name with one public and one private address is refused as a whole.
    for (const a of addresses) {
      const why = this.refusal(a);
      if (why) throw new OutboundError('blocked', why);
    }
    return { url, address: addresses[0] };
  }

  /** POST `body` to `raw`; resolves with whatever status the endpoint answered, rejects with OutboundError. */
  async post(raw: string, headers: Record<string, string>, body: Buffer): Promise<OutboundResponse> {
    const { url, address } = await this.resolve(raw);
    const p = this.policy;
    return new Promise<OutboundResponse>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request({
        protocol: url.protocol,
        host: address,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        servername: isIP(url.hostname) ? undefined : url.hostname,
        headers: { ...headers, host: url.host, 'content-length': String(body.length) },
      });
      let settled = false;
      const fail = (kind: OutboundErrorKind, message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connect);
        req.destroy();
        reject(new OutboundError(kind, message));
      };
      const total = setTimeout(
        () => fail('timeout', `no answer within ${p.responseTimeoutMs} ms`),
        p.responseTimeoutMs,
      );
      const connect = setTimeout(
        () => fail('connect_timeout', `could not connect within ${p.connectTimeoutMs} ms`),
        p.connectTimeoutMs,
      );
      req.on('socket', (socket) => {
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) clearTimeout(connect);
        else socket.once('connect', () => clearTimeout(connect));
      });
      req.on('error', (err) => fail('network', err.message));
      req.on('response', (res) => {
        clearTimeout(connect);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > p.maxResponseBytes) fail('too_large', `answer larger than ${p.maxResponseBytes} bytes`);
          else chunks.push(c);
        });
        res.on('error', (err) => fail('network', err.message));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(total);
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          });
        });
      });
      req.end(body);
    });
  }
}
