/**
 * `npm start` as a supervisor runs it: the only pid we hold is npm's, and signalling that pid must stop the server
 * cleanly (Docker's `CMD npm start`, systemd, `kill -TERM`). Also: a taken port is a one-line configuration error.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDIS_URL, toneAudioJob, uniquePrefix, useProducers, waitFor } from '../workers/helpers.ts';
import { dataDir, instanceEnv, portClosed, ROOT, watch, type LogLine } from './process.ts';

const prefix = uniquePrefix('npm-start');
const producers = useProducers(prefix);

const portOf = (l: LogLine) => Number(new URL(String(l.url)).port);
const listening = (part: string, scheme?: string) => (l: LogLine) =>
  l.msg === 'listening' && l.part === part && (!scheme || String(l.url).startsWith(scheme));

describe('npm start and signals', () => {
  it('SIGTERM to the pid `npm start` returns stops every part, hands the running job back and logs what it handed back', async () => {
    const env = instanceEnv('sigterm', {
      REDIS_URL,
      WORKERS_PREFIX: prefix,
      WORKERS_QUEUES: 'audio',
      WORKERS_SHUTDOWN_GRACE_MS: '300',
    });
    const app = watch('npm', ['start', '--silent'], { env });
    const tcp = [
      await app.line(listening('voice', 'wss:'), 'the wss listener'),
      await app.line(listening('voice', 'ws:'), 'the ws listener'),
      await app.line(listening('proxy'), 'the proxy listener'),
      await app.line(listening('workers'), 'the workers listener'),
    ].map(portOf);
    await app.line((l) => l.msg === 'workers consuming', 'the workers to consume');

    // A long transcode is under way when the signal comes; the short grace forces it to be handed back.
    const id = await producers.addAudio(toneAudioJob(dataDir('sigterm-audio'), 'long.wav', 120));
    await waitFor('the job to be under way', async () => {
      const j = await producers.queues.audio.getJob(id);
      return typeof j?.progress === 'number' && j.progress > 5;
    });

    process.kill(app.child.pid!, 'SIGTERM');
    const { code } = await app.exited;
    expect(code).toBe(0);
    for (const port of tcp) expect(await portClosed(port)).toBe(true);
    const last = app.lines[app.lines.length - 1];
    expect(last).toMatchObject({ msg: 'stopped', signal: 'SIGTERM', handed_back: { workers: { jobs: 1 } } });
    expect(await producers.queues.audio.getJobState(id)).toBe('waiting');
    expect((await producers.queues.audio.getJob(id))?.attemptsMade).toBe(0);
    expect(app.other).toEqual([]); // every line JSON
  }, 120_000);

  it('SIGINT to the pid `npm start -- proxy` returns stops it the same way', async () => {
    const app = watch('npm', ['start', '--silent', '--', 'proxy'], { env: instanceEnv('sigint', { REDIS_URL }) });
    const port = portOf(await app.line(listening('proxy'), 'the proxy listener'));
    process.kill(app.child.pid!, 'SIGINT');
    expect((await app.exited).code).toBe(0);
    expect(await portClosed(port)).toBe(true);
    expect(app.lines[app.lines.length - 1]).toMatchObject({ msg: 'stopped', signal: 'SIGINT', handed_back: {} });
  }, 60_000);
});

describe('a port already in use', () => {
  const start = (part: string, env: Record<string, string>) =>
    watch(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin', 'resound.ts'), 'start', part], {
      env: instanceEnv(`inuse-${part}`, { REDIS_URL, ...env }),
    });

  it('is one configuration error naming the listener, the variable and the port, with exit 78', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const app = start('proxy', { MEDIA_PROXY_PORT: String(taken) });
      expect((await app.exited).code).toBe(78);
      expect(app.stderr().trim()).toBe(
        `invalid configuration:\n  MEDIA_PROXY_PORT=${taken}: the media proxy listener cannot use 127.0.0.1:${taken}, ` +
          'another process holds it; stop that process or choose another port (0 picks a free one)',
      );
      expect(app.stderr()).not.toMatch(/EADDRINUSE|\n\s+at /);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('names SFU_UDP_PORT when the media plane cannot bind', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
    const taken = holder.address().port;
    try {
      const app = start('voice', { SFU_UDP_PORT: String(taken) });
      expect((await app.exited).code).toBe(78);
      expect(app.stderr()).toMatch(
        new RegExp(`^invalid configuration:\\n  SFU_UDP_PORT=${taken}: the SFU UDP listener`),
      );
      expect(app.stderr()).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  }, 60_000);
});

describe('voice alone: one SFU worker process per core', () => {
  it('runs availableParallelism() workers, each on its own UDP port, and SIGTERM stops every one of them', async () => {
    const app = watch(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin', 'resound.ts'), 'start', 'voice'], {
      env: instanceEnv('sfu-workers', { REDIS_URL, SFU_UDP_PORT: '0' }),
    });
    const internal = await app.line((l) => l.msg === 'listening' && l.part === 'voice' && l.internal === true, 'admin');
    const health = (await (await fetch(`${String(internal.url)}/healthz`)).json()) as {
      sfu_workers: Array<{ worker: number; up: boolean; port: number }>;
    };
    expect(health.sfu_workers).toHaveLength(availableParallelism());
    expect(health.sfu_workers.every((w) => w.up)).toBe(true);
    expect(new Set(health.sfu_workers.map((w) => w.port)).size).toBe(availableParallelism());
    const pools = app.lines.filter((l) => l.component === 'sfu-pool' && Array.isArray(l.workers));
    const pids = (pools[0]?.workers as Array<{ pid: number }>).map((w) => w.pid);
    expect(pids).toHaveLength(availableParallelism());
    process.kill(app.child.pid!, 'SIGTERM');
    expect((await app.exited).code).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
