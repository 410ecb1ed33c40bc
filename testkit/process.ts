/**
 * Processes and ports for tests and benchmarks: Resound parts and helper programs as child processes whose output is
 * read line by line, free loopback ports, scratch folders, and polling for a condition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export { freePort } from '../common/redis.ts';

/** The repository root (where `bin/resound.ts` lives). */
export const ROOT = path.resolve(import.meta.dirname, '..');

export interface Spawned {
  child: ChildProcess;
  /** Every complete stdout line so far, then stderr chunks when stderr is piped. */
  lines: string[];
  /** Resolves with the first line (seen or still to come) that `match` accepts; rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (to the whole process group when detached, as a machine dying would) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Own process group, so `kill` reaches the children it started (sandboxed workers, …). */
  detached?: boolean;
  /** Pipe stderr into `lines` (default) or pass it through to ours. */
  stderr?: 'pipe' | 'inherit';
}

/** `node ARGS` from the repository root with our environment plus `opts.env`. */
export function spawnNode(args: string[], opts: SpawnOptions = {}): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', opts.stderr ?? 'pipe'],
    detached: opts.detached ?? false,
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const w of waiters) w();
  };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
    changed();
  });
  child.stderr?.on('data', (d: Buffer) => {
    lines.push(d.toString());
    changed();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', changed);
  const waitForLine = (match: (line: string) => boolean, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(match);
        if (hit !== undefined) done(() => resolve(hit));
        else if (child.exitCode !== null || child.signalCode !== null)
          done(() => reject(new Error(`process exited (${child.exitCode ?? child.signalCode}):\n${lines.join('\n')}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no matching line within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines,
    waitForLine,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        if (opts.detached) process.kill(-child.pid!, signal);
        else child.kill(signal);
      }
      await exited;
    },
  };
}

/** `resound ARGS` (e.g. `start workers`) under tsx, as an operator would run it. */
export function spawnResound(args: string[], opts: SpawnOptions = {}): Spawned {
  return spawnNode(['--import', import.meta.resolve('tsx'), path.join(ROOT, 'bin', 'resound.ts'), ...args], opts);
}

/** The `url` of the first JSON line that carries one (a part's `{"msg":"listening"}` line, or a helper's `{url}`). */
export async function listeningUrl(p: Spawned, timeoutMs = 60_000): Promise<string> {
  const line = await p.waitForLine((l) => urlOf(l) !== undefined, timeoutMs);
  return urlOf(line)!;
}

function urlOf(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const j = JSON.parse(line) as { url?: unknown; msg?: unknown };
    return typeof j.url === 'string' && (j.msg === 'listening' || j.msg === undefined) ? j.url : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh folder under the test data dir (or the system temp dir). */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR ?? os.tmpdir(), `${tag}-`));
}

/** Polls `pred` (after `refresh`, if given) every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  pred: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
  refresh?: () => Promise<void>,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await refresh?.(), !pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
