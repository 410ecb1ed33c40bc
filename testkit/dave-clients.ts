/** DAVE state of real @discordjs/voice clients (epoch, privacy code, transitions), and waiting for a shared group. */
import { waitFor } from './process.ts';
import type { TestClient } from './voice-harness.ts';

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

/** Destroys a client unless a test already did (VoiceConnection.destroy throws the second time). */
export function destroyQuietly(c: TestClient): void {
  if (c.connection.state.status !== 'destroyed') c.destroy();
}
