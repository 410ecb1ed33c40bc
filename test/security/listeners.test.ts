import fs from 'node:fs';
import net from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS } from '../../common/connection-guard.ts';
import { Op, type VoiceGateway } from '../../signaling/index.ts';
import { VoiceClient, counterValue, newId, startTestGateway, waitFor } from '../../testkit/index.ts';

/** Opens a raw TCP connection to an http:// URL's host and port. */
function tcp(url: string, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: Number(u.port), host: u.hostname, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function untilClosed(s: net.Socket): Promise<string> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((r) => s.on('close', () => r(Buffer.concat(chunks).toString('latin1'))));
}

/** The close code of a WebSocket, or the HTTP status when the upgrade was refused. */
function wsOutcome(ws: WebSocket): Promise<{ code?: number; status?: number }> {
  return new Promise((r) => {
    ws.on('unexpected-response', (_req, res) => r({ status: res.statusCode }));
    ws.on('close', (code) => r({ code }));
    ws.on('error', () => {});
  });
}

const healthy = async (url: string) => (await fetch(`${url}/healthz`)).status;

describe('HTTP listeners: body/idle timeouts and connection caps', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    gw = await startTestGateway(
      {},
      {
        httpLimits: {
          ...DEFAULT_HTTP_LIMITS,
          requestTimeoutMs: 300,
          headersTimeoutMs: 300,
          idleTimeoutMs: 1000,
          maxConnections: 6,
          maxConnectionsPerIp: 4,
        },
      },
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a request whose body never finishes is answered 408 and closed', async () => {
    const s = await tcp(gw.httpUrl!);
    const answer = untilClosed(s);
    s.write(
      `POST /voice/join HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${gw.adminToken}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"g',
    );
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await counterValue(gw, 'resound_http_timeouts_total', { kind: 'request' })).toBe(1);
  });

  it('a connection that sends nothing is closed', async () => {
    const timeouts = async () =>
      (await counterValue(gw, 'resound_http_timeouts_total', { kind: 'request' })) +
      (await counterValue(gw, 'resound_http_timeouts_total', { kind: 'idle' }));
    const before = await timeouts();
    const s = await tcp(gw.httpUrl!);
    expect(await untilClosed(s)).not.toMatch(/^HTTP\/1\.1 2/);
    expect(s.destroyed).toBe(true);
    expect(await timeouts()).toBeGreaterThan(before);
  });

  it('connections past the per-IP cap are refused with 503 while others are served', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => tcp(gw.httpUrl!)));
    const extra = await tcp(gw.httpUrl!);
    expect(await untilClosed(extra)).toMatch(/^HTTP\/1\.1 503 /);
    expect(await counterValue(gw, 'resound_http_connections_refused_total', { reason: 'per_ip' })).toBe(1);
    // The TLS listener has caps of its own and keeps serving; past them it closes before the handshake.
    expect(await healthy(gw.httpsUrl)).toBe(200);
    const tlsHeld = await Promise.all([1, 2, 3, 4].map(() => tcp(gw.httpsUrl)));
    const tlsExtra = await tcp(gw.httpsUrl);
    expect(await untilClosed(tlsExtra)).toBe('');
    // fetch() may still hold a keep-alive connection, so one of the four can be the refused one too.
    expect(
      await counterValue(gw, 'resound_http_connections_refused_total', { reason: 'per_ip' }),
    ).toBeGreaterThanOrEqual(2);
    for (const s of tlsHeld) s.destroy();
    for (const s of held) s.destroy();
    // The server learns of the closes a moment later; the positive signal is being served again.
    let status = 0;
    await waitFor(
      () => status === 200,
      5000,
      'a freed slot',
      async () => {
        status = await healthy(gw.httpUrl!).catch(() => 0);
      },
    );
  });

  it('connections past the total cap are refused, each from a fresh IP', async () => {
    // Loopback answers for all of 127/8: every socket below has an address of its own, so only the total cap applies.
    const held: net.Socket[] = [];
    let refused = '';
    for (let i = 10; i < 30 && !refused; i++) {
      const s = await tcp(gw.httpUrl!, `127.0.0.${i}`);
      const first = new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString('latin1'))));
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const line = (await first).split('\r\n')[0];
      if (line.includes(' 200 ')) held.push(s);
      else refused = line;
    }
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(held.length).toBeLessThanOrEqual(6);
    expect(await counterValue(gw, 'resound_http_connections_refused_total', { reason: 'total' })).toBe(1);
    for (const s of held) s.destroy();
  });
});

describe('voice WebSockets: Identify deadline and connection caps', () => {
  let gw: VoiceGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      SIGNALING_IDENTIFY_TIMEOUT_MS: '300',
      SIGNALING_HEARTBEAT_INTERVAL_MS: '1000',
      SIGNALING_MAX_CONNECTIONS: '5',
      SIGNALING_MAX_CONNECTIONS_PER_IP: '3',
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const client = async () => {
    const guild = newId();
    const user = newId();
    const g = gw.server.grantJoin(guild, newId(), user);
    return new VoiceClient({
      url: gw.wsUrl!,
      serverId: guild,
      userId: user,
      sessionId: g.session_id,
      token: g.token,
      ca: fs.readFileSync(gw.certPath),
    }).connect();
  };

  it('a socket that heartbeats but never identifies is closed with 4003; an identified one stays', async () => {
    const ok = await client();
    const idle = new WebSocket(gw.wsUrl!);
    const outcome = wsOutcome(idle);
    const beat = () => idle.send(JSON.stringify({ op: Op.Heartbeat, d: { t: Date.now() } }));
    idle.once('open', () => {
      const timer = setInterval(beat, 50);
      idle.on('close', () => clearInterval(timer));
    });
    expect(await outcome).toEqual({ code: 4003 });
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'identify_timeout' })).toBe(1);
    expect(ok.ws.readyState).toBe(WebSocket.OPEN);
    ok.close();
  });

  it('upgrades past the per-IP cap get 503; a slot freed is usable again', async () => {
    const held = [await client(), await client(), await client()];
    const extra = new WebSocket(gw.wssUrl, { ca: fs.readFileSync(gw.certPath) });
    expect(await wsOutcome(extra)).toEqual({ status: 503 });
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'ws_cap_per_ip' })).toBe(1);
    const closed = new Promise((r) => held[0].ws.on('close', r));
    held[0].close();
    await closed;
    const again = await client();
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    for (const c of [...held.slice(1), again]) c.close();
  });

  it('upgrades past the total cap get 503 even from a fresh IP', async () => {
    const open = (localAddress: string) => {
      const ws = new WebSocket(gw.wsUrl!, { localAddress });
      ws.on('error', () => {});
      return ws;
    };
    const held = ['127.0.0.2', '127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.3'].map(open);
    await Promise.all(held.map((ws) => new Promise((r) => ws.once('open', r))));
    expect(await wsOutcome(open('127.0.0.4'))).toEqual({ status: 503 });
    expect(await counterValue(gw, 'resound_signaling_rejected_total', { reason: 'ws_cap_total' })).toBe(1);
    for (const ws of held) ws.terminate();
  });
});
