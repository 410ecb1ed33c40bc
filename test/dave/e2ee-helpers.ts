/** Helpers for the real-client DAVE suite that reach into a running gateway (its channels, gate and metrics). */
import net from 'node:net';
import type { MediaGate, Participant } from '../../sfu/index.ts';
import type { VoiceChannel, VoiceGateway } from '../../signaling/index.ts';
import { VoiceClient, waitFor } from '../../testkit/index.ts';

export function channelOf(gw: VoiceGateway, channelId: string): VoiceChannel {
  const ch = [...gw.server.channels.values()].find((c) => c.channelId === channelId);
  if (!ch) throw new Error(`no channel ${channelId}`);
  return ch;
}

/** Wraps the channel's media gate to record the transport plaintext the SFU saw from one sender (and its verdicts). */
export function tapGate(
  gw: VoiceGateway,
  channelId: string,
  senderId: string,
): { seen: Buffer[]; delivered: Map<string, Buffer[]> } {
  const router = channelOf(gw, channelId).router.local!;
  const inner = router.mediaGate;
  const seen: Buffer[] = [];
  const delivered = new Map<string, Buffer[]>();
  const tap: MediaGate = {
    allow(sender: Participant, receiver: Participant, payload: Uint8Array, offset: number, length: number): boolean {
      const ok = inner ? inner.allow(sender, receiver, payload, offset, length) : true;
      if (sender.userId === senderId) {
        const copy = Buffer.from(payload.subarray(offset, offset + length));
        if (seen.length === 0 || !seen[seen.length - 1].equals(copy)) seen.push(copy);
        if (ok) {
          const list = delivered.get(receiver.userId) ?? [];
          list.push(copy);
          delivered.set(receiver.userId, list);
        }
      }
      return ok;
    },
  };
  router.setGate(tap);
  return { seen, delivered };
}

export async function metricValue(
  gw: VoiceGateway,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  // Histogram series (`…_count`, `…_sum`) live under their base metric.
  const base = name.replace(/_(count|sum)$/, '');
  const m = gw.registry.getSingleMetric(name) ?? gw.registry.getSingleMetric(base);
  if (!m) return 0;
  const data = await m.get();
  let sum = 0;
  for (const v of data.values) {
    const series = (v as { metricName?: string }).metricName;
    if (series !== undefined && series !== name) continue;
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, x]) => String(l[k]) === x)) sum += v.value;
  }
  return sum;
}

export function endsWithMarker(b: Buffer): boolean {
  return b.length >= 2 && b[b.length - 1] === 0xfa && b[b.length - 2] === 0xfa;
}

/** A lean native client that offers DAVE v1 but runs no MLS: it sends whatever bytes a test hands it. */
export async function rawDaveClient(
  gw: VoiceGateway,
  guildId: string,
  channelId: string,
  userId: string,
): Promise<VoiceClient> {
  const grant = gw.server.grantJoin(guildId, channelId, userId);
  const client = new VoiceClient({
    url: gw.wsUrl!,
    serverId: guildId,
    userId,
    sessionId: grant.session_id,
    token: grant.token,
    mode: 'aead_aes256_gcm_rtpsize',
    maxDaveProtocolVersion: 1,
  });
  await client.connect();
  return client;
}

export function sendBinary(client: VoiceClient, op: number, payload: Uint8Array): void {
  client.ws.send(Buffer.concat([Buffer.from([op]), payload]));
}

export async function closeCodeOf(client: VoiceClient, timeoutMs = 5000): Promise<number> {
  await waitFor(() => client.closeCode !== null, timeoutMs, 'server close');
  return client.closeCode!;
}

/**
 * A loopback TCP relay in front of the gateway's wss listener. While `held`, new connections are accepted but not
 * relayed, so a client's reconnect (e.g. its Resume after 4015) waits on the network the way a slow link would,
 * without touching the server under test.
 */
export async function holdingRelay(targetPort: number): Promise<{
  endpoint: string;
  /** Connections accepted while held and not yet relayed. */
  waiting: () => number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}> {
  let held = false;
  const parked: net.Socket[] = [];
  const sockets = new Set<net.Socket>();
  const relay = (client: net.Socket) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (held) {
      client.pause();
      parked.push(client);
    } else relay(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    waiting: () => parked.length,
    hold: () => void (held = true),
    release: () => {
      held = false;
      for (const c of parked.splice(0)) {
        relay(c);
        c.resume();
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
