import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The setup script owns the cache layout and patch hash; it is plain .mjs so it runs before anything is built. */
interface SetupModule {
  cachedWorkerPath(version: string): string;
  mediasoupPackageJson(): string;
}

export type WorkerBinResult = { ok: true; path: string; version: string } | { ok: false; reason: string };

export const SETUP_COMMAND = 'npm run setup:webrtc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let cached: WorkerBinResult | undefined;

/**
 * Finds the mediasoup worker binary without loading mediasoup (mediasoup reads MEDIASOUP_WORKER_BIN once, when its
 * module loads): MEDIASOUP_WORKER_BIN if set, else the binary `npm run setup:webrtc` cached for this mediasoup version
 * and patch. Verified the way mediasoup itself does: started with an empty environment, a real worker exits 41.
 * On success MEDIASOUP_WORKER_BIN is set for this process so a later `import('mediasoup')` spawns it.
 */
export async function resolveWorkerBin(): Promise<WorkerBinResult> {
  if (cached) return cached;
  cached = await locate();
  if (cached.ok) process.env.MEDIASOUP_WORKER_BIN = cached.path;
  return cached;
}

async function locate(): Promise<WorkerBinResult> {
  let setup: SetupModule;
  try {
    setup = (await import(join(root, 'scripts', 'setup-webrtc.mjs'))) as SetupModule;
  } catch (err) {
    return { ok: false, reason: `scripts/setup-webrtc.mjs failed to load: ${(err as Error).message}` };
  }
  let version: string;
  try {
    createRequire(join(root, 'package.json')).resolve('mediasoup');
    version = (JSON.parse(readFileSync(setup.mediasoupPackageJson(), 'utf8')) as { version: string }).version;
  } catch {
    return { ok: false, reason: 'the mediasoup package is not installed (npm ci)' };
  }
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN;
  const path = fromEnv || setup.cachedWorkerPath(version);
  if (!existsSync(path)) {
    return {
      ok: false,
      reason: fromEnv
        ? `MEDIASOUP_WORKER_BIN=${fromEnv} does not exist`
        : `no mediasoup ${version} worker built on this machine: run \`${SETUP_COMMAND}\` (builds it offline, ~8 min)`,
    };
  }
  const r = spawnSync(path, [], { env: {}, timeout: 10_000 });
  if (r.status !== 41) {
    const why = r.error?.message ?? (r.stderr.toString().trim().split('\n')[0] || `exit ${r.status}`);
    return { ok: false, reason: `mediasoup worker ${path} fails its self-check (${why}): re-run \`${SETUP_COMMAND}\`` };
  }
  return { ok: true, path, version };
}

/** Tests only: forget the cached answer (e.g. after pointing MEDIASOUP_WORKER_BIN elsewhere). */
export function resetWorkerBinCache(): void {
  cached = undefined;
}
