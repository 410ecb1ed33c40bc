/** Helpers for the real-client DAVE suite, on top of the conformance harness. */
import type { MediaGate, Participant } from '../../sfu/index.ts';
import { VoiceClient, type VoiceChannel, type VoiceGateway } from '../../signaling/index.ts';
import { waitFor, type TestClient } from '../conformance/harness.ts';

/** The DAVE wrapper inside a @discordjs/voice connection (state → networking → state → dave). */
function daveWrapper(
  c: TestClient,
): { protocolVersion: number; session?: { epoch: bigint | null; status: number } } | null {
  const networking = Reflect.get(c.connection.state, 'networking') as object | undefined;
  const nstate = networking ? (Reflect.get(networking, 'state') as object | undefined) : undefined;
  return nstate ? ((Reflect.get(nstate, 'dave') as ReturnType<typeof daveWrapper> | undefined) ?? null) : null;
}

function daveSession(c: TestClient): { epoch: bigint | null; status: number } | null {
  return daveWrapper(c)?.session ?? null;
}

/** The DAVE protocol version the client currently runs (0 after a downgrade). */
export function protocolVersionOf(c: TestClient): number | null {
  return daveWrapper(c)?.protocolVersion ?? null;
}

export function epochOf(c: TestClient): bigint | null {
  return daveSession(c)?.epoch ?? null;
}

export function statusOf(c: TestClient): number | null {
  return daveSession(c)?.status ?? null;
}

export function codeOf(c: TestClient): string | null {
  return c.connection.voicePrivacyCode ?? null;
}

/** Records every `transitioned` event of a client. */
export function trackTransitions(c: TestClient): number[] {
  const seen: number[] = [];
  c.connection.on('transitioned', (id: number) => seen.push(id));
  return seen;
}

/** Waits until all clients are ACTIVE in the same epoch with the same privacy code (and, optionally, past `after`). */
export async function waitForSharedGroup(
  clients: TestClient[],
  after: bigint = 0n,
  timeoutMs = 15_000,
): Promise<{ epoch: bigint; code: string }> {
  await waitFor(
    () => {
      const e = epochOf(clients[0]);
      const code = codeOf(clients[0]);
      if (e === null || e <= after || !code) return false;
      return clients.every((c) => statusOf(c) === 3 && epochOf(c) === e && codeOf(c) === code);
    },
    timeoutMs,
    `shared DAVE group among ${clients.length} clients after epoch ${after}`,
  );
  return { epoch: epochOf(clients[0])!, code: codeOf(clients[0])! };
}

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
  const router = channelOf(gw, channelId).router;
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

/** Destroys a client unless a test already did (VoiceConnection.destroy throws the second time). */
export function destroyQuietly(c: TestClient): void {
  if (c.connection.state.status !== 'destroyed') c.destroy();
}
