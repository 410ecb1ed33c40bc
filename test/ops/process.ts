/** Helpers for tests that run Resound the way an operator does: `npm start`, the CLI, a supervisor's signals. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, redisAnswers } from '../../common/redis.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function dataDir(tag: string): string {
  return fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, `ops-${tag}-`));
}

export interface LogLine {
  msg?: string;
  part?: string;
  url?: string;
  [k: string]: unknown;
}

/** A child process whose stdout is read as JSON log lines (anything else is kept in `other`). */
export interface Watched {
  child: ChildProcess;
  lines: LogLine[];
  /** Output lines that are not JSON (what a user would see as noise). */
  other: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line matching `pred` (already seen or yet to come); rejects if the process exits first. */
  line(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** The same for plain-text output lines (a CLI's progress display). */
  text(re: RegExp, timeoutMs?: number): Promise<string>;
}

export function watch(command: string, args: string[], opts: SpawnOptions & { env: NodeJS.ProcessEnv }): Watched {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const lines: LogLine[] = [];
  const other: string[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        other.push(p);
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // 'close', not 'exit': it waits for every holder of the output pipes, so when `npm start` is gone the server it
  // ran (which shares npm's stdout) has exited too, and its last line has been read.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  const waitFor = <T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (hit !== undefined) return done(() => resolve(hit));
        if (child.exitCode !== null || child.signalCode !== null)
          done(() => reject(new Error(`exited before ${what}:\n${err}\n${other.slice(-5).join('\n')}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${what}:\n${err}\n${other.join('\n')}`))),
        timeoutMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines,
    other,
    stderr: () => err,
    exited,
    line: (pred, what, timeoutMs = 60_000) => waitFor(() => lines.find(pred), what, timeoutMs),
    text: (re, timeoutMs = 60_000) => waitFor(() => other.find((l) => re.test(l)), String(re), timeoutMs),
  };
}

/** True once nothing accepts TCP connections on `port` any more. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

/** The environment of a private instance: every port ephemeral, its own data folder, quiet but for info lines. */
export function instanceEnv(tag: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LOG_LEVEL: 'info',
    RESOUND_DATA_DIR: dataDir(tag),
    SIGNALING_WSS_PORT: '0',
    SIGNALING_WS_PORT: '0',
    SFU_UDP_PORT: '0',
    SIGNALING_INTERNAL_PORT: '0',
    MEDIA_PROXY_INTERNAL_PORT: '0',
    MEDIA_PROXY_PORT: '0',
    WORKERS_PORT: '0',
    ...extra,
  };
}

/** A redis-server of the test's own on a free port (never the shared one), which the test may kill and start again. */
export async function ownRedis(port?: number): Promise<{
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs with its sockets open, then wakes up. */
  pause(): void;
  resume(): void;
}> {
  const p = port ?? (await freePort());
  const url = `redis://127.0.0.1:${p}`;
  let proc: ChildProcess | undefined;
  const kill = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  };
  return {
    url,
    kill,
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    start: async () => {
      await kill();
      proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      const end = Date.now() + 10_000;
      while (!(await redisAnswers(url, 200))) {
        if (Date.now() > end) throw new Error(`redis-server on ${p} never answered`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
