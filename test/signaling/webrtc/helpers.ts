/** Browser-voice test helpers: the worker check, the demo page driven by Chromium, a raw browser-protocol socket. */
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { resolveWorkerBin } from '../../../sfu/index.ts';
import type { VoiceGateway } from '../../../signaling/index.ts';
import { newId, waitFor } from '../../../testkit/index.ts';

/** These suites need the mediasoup worker; without it they fail at once with the command that builds it. */
export async function requireWebRtcWorker(): Promise<void> {
  const bin = await resolveWorkerBin();
  if (!bin.ok) throw new Error(`browser voice tests need the mediasoup worker: ${bin.reason} (npm run setup:webrtc)`);
}

export interface DemoPage {
  page: Page;
  userId: string;
  /** Every op 4 frame the page received, as sent. */
  descriptions: string[];
  close(): Promise<void>;
}

export interface JoinDemoOptions {
  /** Rewrites each message the page sends on the voice WebSocket (the test plays a hostile browser). */
  tamper?: (message: string) => string;
  /** Page expression to wait for instead of "connected". */
  until?: string;
}

/** Opens the demo page in a fresh context, joins `channelId` and waits until the microphone is sent. */
export async function joinDemo(
  browser: Browser,
  gw: VoiceGateway,
  channelId: string,
  opts: JoinDemoOptions = {},
): Promise<DemoPage> {
  // The page's CSP forbids eval; the test's string expressions (waitForFunction, evaluate) need it.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const tamper = opts.tamper;
  if (tamper)
    await page.routeWebSocket(/\/\?v=8$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(typeof m === 'string' ? tamper(m) : m));
      server.onMessage((m) => ws.send(m));
      server.onClose((code, reason) => ws.close({ code, reason }));
    });
  const descriptions: string[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && f.payload.startsWith('{"op":4,')) descriptions.push(f.payload);
    }),
  );
  // Plain http on loopback is a secure context, so the microphone works without a trusted certificate.
  await page.goto(`${gw.httpUrl}/demo`);
  await page.fill('#channel', channelId);
  await page.click('#join');
  await page.waitForFunction(opts.until ?? 'window.resoundDemo?.phase === "connected"', undefined, { timeout: 20_000 });
  const userId = (await page.evaluate('window.resoundDemo.grant.user_id')) as string;
  return { page, userId, descriptions, close: () => context.close() };
}

export interface InboundStats {
  ssrc: number;
  packets: number;
  audioLevel: number;
  energy: number;
}

/** The page's inbound audio streams, from RTCPeerConnection.getStats(). */
export async function inboundStats(page: Page): Promise<InboundStats[]> {
  return (await page.evaluate(`(async () => {
    const out = [];
    const report = await window.resoundDemo.pc.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio')
        out.push({ ssrc: r.ssrc, packets: r.packetsReceived ?? 0, audioLevel: r.audioLevel ?? 0, energy: r.totalAudioEnergy ?? 0 });
    });
    return out;
  })()`)) as InboundStats[];
}

/** The SSRC of `userId`'s stream towards this page (from op 12), or 0. */
export async function streamSsrcOf(page: Page, userId: string): Promise<number> {
  return (await page.evaluate(
    `window.resoundDemo.offer?.slots.find((s) => s.userId === ${JSON.stringify(userId)})?.ssrc ?? 0`,
  )) as number;
}

/** Waits until the page hears `userId`: packets arrived on their stream and carried sound (level or energy > 0). */
export async function waitHeard(page: Page, userId: string, timeoutMs = 20_000): Promise<InboundStats> {
  let hit: InboundStats | undefined;
  await waitFor(
    () => hit !== undefined,
    timeoutMs,
    `the page to hear ${userId}`,
    async () => {
      const ssrc = await streamSsrcOf(page, userId);
      hit = (await inboundStats(page)).find(
        (s) => s.ssrc === ssrc && s.packets > 0 && (s.audioLevel > 0 || s.energy > 0),
      );
    },
  );
  return hit!;
}

/** A browser-protocol session spoken by hand over ws://: Identify, then op 1 `webrtc`; records what comes back. */
export class RawBrowser {
  readonly messages: Array<{ op: number; d: unknown }> = [];
  closeCode = 0;
  closeReason = '';
  readonly userId = newId();
  private readonly ws: WebSocket;
  readonly closed: Promise<number>;

  constructor(gw: VoiceGateway, guildId: string, channelId: string) {
    const grant = gw.server.grantJoin(guildId, channelId, this.userId);
    this.ws = new WebSocket(gw.wsUrl!);
    this.ws.on('open', () =>
      this.send(0, { server_id: guildId, user_id: this.userId, session_id: grant.session_id, token: grant.token }),
    );
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { op: number; d: unknown };
      this.messages.push(m);
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = String(reason);
        resolve(code);
      }),
    );
  }

  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves with the first message of `op` (already received or future). */
  async next(op: number, timeoutMs = 15_000): Promise<unknown> {
    await waitFor(() => this.messages.some((m) => m.op === op) || this.closeCode !== 0, timeoutMs, `op ${op}`);
    const m = this.messages.find((x) => x.op === op);
    if (!m) throw new Error(`closed ${this.closeCode} (${this.closeReason}) before op ${op}`);
    return m.d;
  }

  close(): void {
    this.ws.close(1000);
  }
}
