import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { snowflake } from '../../common/snowflake.ts';
import { loadSignalingConfig, startVoiceGateway, type VoiceGateway } from '../../signaling/index.ts';
import { OPUS_SILENCE_FRAME, SILENCE_TAIL_FRAMES, type TransportMode } from '../../sfu/index.ts';
import type { ImpairmentPlan } from './impairment.ts';
import { arrivalTimes, type MediaPath, type Transmission } from './media-path.ts';
import { CellCollector } from './cell-collector.ts';
import { ImpairmentRelay } from './relay.ts';
import { VoiceClient, type ReceivedFrame } from '../../testkit/index.ts';

/** Datagrams a client sends back to back before yielding, like a paced sender (keeps socket buffers from filling). */
const BURST = 16;
/** Receive buffer for the clients' UDP sockets (the kernel caps it at net.core.rmem_max). */
const RECV_BUFFER_BYTES = 4 << 20;
/** Real clients send an 8-byte UDP keepalive this often; the SFU stops sending to an address that stays quiet. */
const KEEPALIVE_MS = 5000;
/** How long the listener waits for a cell's packets and tail once the relay released them. */
const RECEIVE_TIMEOUT_MS = 3000;

export interface SfuPathOptions {
  /** Transport encryption mode the clients select; default: the server's first offer. */
  mode?: TransportMode;
  /** Extra environment for the voice server (SIGNALING_*, SFU_*). */
  env?: Record<string, string>;
}

/**
 * The real voice path in one process: a voice gateway + SFU on loopback, two native clients that join through the
 * admin join API and speak the gateway over wss (Identify, heartbeats, IP discovery, Select Protocol, Session
 * Description, Speaking), client A behind an impairment relay at the network edge, client B listening. Cells are
 * sent one at a time; the relay and the listener identify a cell's packets by A's RTP sequence numbers.
 */
export class SfuPath implements MediaPath {
  readonly name: string;
  private queue: Promise<unknown> = Promise.resolve();
  private listener: ((f: ReceivedFrame) => void) | null = null;
  /** Sequence shift the SFU applies to A's stream towards B (non-zero after it dropped or inserted a packet). */
  private shift = 0;
  private readonly keepalive: NodeJS.Timeout;

  private constructor(
    private readonly gw: VoiceGateway,
    private readonly dataDir: string,
    private readonly a: VoiceClient,
    private readonly b: VoiceClient,
    private readonly relay: ImpairmentRelay,
  ) {
    this.name = `sfu (${a.mode})`;
    b.on('frame', (f) => this.listener?.(f));
    // The listener never sends media: like a real client it keeps its address alive (SFU_REMOTE_IDLE_MS).
    const ping = Buffer.alloc(8);
    this.keepalive = setInterval(() => {
      for (const c of [a, b]) c.udp.send(ping, c.serverPort, c.serverAddress);
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  static async open(opts: SfuPathOptions = {}): Promise<SfuPath> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-audio-bench-'));
    // Cells replay clips far faster than real time; the SFU's per-sender rate policing is for live senders.
    const config = loadSignalingConfig({
      SIGNALING_WSS_PORT: '0',
      SIGNALING_WS_PORT: '-1',
      SIGNALING_INTERNAL_PORT: '0',
      SFU_UDP_PORT: '0',
      SFU_MAX_PPS: '1000000',
      ...opts.env,
    });
    const gw = await startVoiceGateway({
      config,
      dataDir,
      bind: '127.0.0.1',
      logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    });
    try {
      const ca = fs.readFileSync(gw.certPath);
      const guild = snowflake();
      const channel = snowflake();
      const join = async (): Promise<VoiceClient> => {
        const userId = snowflake();
        const grant = await adminJoin(gw, { guild_id: guild, channel_id: channel, user_id: userId });
        const client = new VoiceClient({
          url: `wss://${grant.endpoint}/?v=8`,
          serverId: guild,
          userId,
          sessionId: grant.session_id,
          token: grant.token,
          mode: opts.mode,
          ca,
        });
        return client.connect();
      };
      const a = await join();
      const b = await join();
      // A whole cell arrives in one burst; the default socket buffer (~200 KB) overflows when the machine is busy.
      for (const c of [a, b]) c.udp.setRecvBufferSize(RECV_BUFFER_BYTES);
      // From here on A's media goes through the relay; the SFU re-latches A's address on its first authenticated
      // packet.
      const relay = await ImpairmentRelay.create({ address: a.serverAddress, port: a.serverPort });
      a.serverAddress = '127.0.0.1';
      a.serverPort = relay.port;
      a.setSpeaking(1);
      await until(() => b.ssrcs.has(a.ssrc), 5000, 'the listener to learn the speaker (op 5)');
      return new SfuPath(gw, dataDir, a, b, relay);
    } catch (err) {
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  transmit(packets: readonly Uint8Array[], plan: ImpairmentPlan): Promise<Transmission> {
    const run = this.queue.then(() => this.transmitNow(packets, plan));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    clearInterval(this.keepalive);
    this.a.close();
    this.b.close();
    this.relay.close();
    await this.gw.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async transmitNow(packets: readonly Uint8Array[], plan: ImpairmentPlan): Promise<Transmission> {
    const a = this.a;
    const count = packets.length;
    const seqBase = (a.sequence + 1) & 0xffff;
    let expected = 0;
    for (const d of plan.drop) if (!d) expected++;
    const cell = new CellCollector(packets, plan, seqBase, this.shift);
    // Done once the sender's silence tail has arrived: it left after every packet of the cell and the path keeps
    // order, so nothing more is coming; and the SFU has seen the spurt end, so nothing this process does next (blocking
    // it for a while) can make it synthesise a tail.
    const received = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, RECEIVE_TIMEOUT_MS);
      this.listener = (f) => {
        if (f.ssrc !== a.ssrc) return;
        cell.onFrame(f.sequence, f.payload, f.timestamp, performance.now());
        if (cell.tail >= SILENCE_TAIL_FRAMES) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    const released = this.relay.arm(seqBase, plan);
    for (let i = 0; i < count; i++) {
      a.sendOpus(packets[i]);
      if ((i + 1) % BURST === 0) await new Promise<void>((r) => setImmediate(r));
    }
    await released;
    // End the spurt like a real client, right after the last packet.
    for (let k = 0; k < SILENCE_TAIL_FRAMES; k++) a.sendOpus(Uint8Array.from(OPUS_SILENCE_FRAME));
    await received;
    this.listener = null;
    this.shift = cell.shift;
    return {
      packets: cell.rx,
      arrivalMs: arrivalTimes(plan, cell.rx),
      unexpectedLoss: expected - cell.got,
      inserted: cell.inserted,
      driftMs: cell.driftMs,
    };
  }
}

/** POST /voice/join on the admin API (the gateway's internal listener). */
function adminJoin(
  gw: VoiceGateway,
  body: Record<string, string>,
): Promise<{ endpoint: string; token: string; session_id: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${gw.internalUrl}/voice/join`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${gw.adminToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`voice join failed: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as { endpoint: string; token: string; session_id: string });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
