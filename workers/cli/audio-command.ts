import fs from 'node:fs/promises';
import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import { loadCommonConfig } from '../../common/config.ts';
import { loadWorkersConfig, type WorkersConfig } from '../config.ts';
import { failureCode } from '../errors.ts';
import type { AudioResult } from '../processors/audio.ts';
import { sha256Of, type AudioJobData } from '../queues.ts';
import { isRedisOutage, parseCliArgs, plural, StallClock, stallNote, UsageError, withUsage } from './cli-args.ts';
import {
  checkWorkersMode,
  cliLogger,
  closeConvertSession,
  openConvertSession,
  startLocalWorkerIfIdle,
} from './convert-session.ts';
import { bar, bytes, table } from './format.ts';
import { reasonWithoutCode } from './summary-table.ts';

const USAGE = `resound audio — WAV to Ogg Opus through the worker queues

  resound audio convert <file.wav|dir> [--out DIR] [--bitrate 64000] [--workers auto|local|fleet]
      Enqueue the WAV file, or every .wav in <dir>, on the audio queue; show progress; print a summary.
      --out      output folder (default WORKERS_AUDIO_OUT_DIR, i.e. <RESOUND_DATA_DIR>/audio)
      --bitrate  Opus bitrate in bits/s, 6000–510000 (default WORKERS_AUDIO_BITRATE)
      --workers  auto: run a worker in this process when none is consuming the audio queue (default);
                 local: always; fleet: never (wait for the fleet against REDIS_URL)

Exit status: 0 when every file converted, 1 when some failed (listed in the summary), 2 on bad usage.
Outputs are named <sha256>-<settings>.ogg, so converting the same file again is the same job and the same file.`;

interface AudioFile {
  name: string;
  data: AudioJobData;
}

/** The WAV files to convert: the one named, or every `.wav` in a folder (others are reported as skipped). */
async function scanAudio(
  target: string,
  config: WorkersConfig,
  outDir: string,
  bitrate: number,
): Promise<{ files: AudioFile[]; skipped: string[] }> {
  const abs = path.resolve(target);
  const stat = await fs.stat(abs).catch(() => undefined);
  if (!stat) throw new UsageError(`${abs} does not exist`);
  let names: string[];
  let skipped: string[] = [];
  if (stat.isDirectory()) {
    const entries = (await fs.readdir(abs, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    names = entries.filter((n) => path.extname(n).toLowerCase() === '.wav').sort();
    skipped = entries.filter((n) => path.extname(n).toLowerCase() !== '.wav').sort();
    if (!names.length) throw new UsageError(`no .wav files in ${abs}`);
  } else {
    names = [path.basename(abs)];
  }
  const dir = stat.isDirectory() ? abs : path.dirname(abs);
  const files: AudioFile[] = [];
  for (const name of names) {
    const source = path.join(dir, name);
    // Hashing needs the bytes; files past the byte limit are hashed as empty and refused by their own job.
    const st = await fs.stat(source);
    const sha256 =
      st.size <= config.WORKERS_AUDIO_MAX_BYTES ? sha256Of(await fs.readFile(source)) : sha256Of(Buffer.alloc(0));
    files.push({
      name,
      data: {
        source,
        sha256,
        outDir,
        input: { format: 'wav' },
        bitrate,
        maxSeconds: config.WORKERS_AUDIO_MAX_SECONDS,
        maxBytes: config.WORKERS_AUDIO_MAX_BYTES,
        purpose: 'other',
      },
    });
  }
  return { files, skipped };
}

interface Outcome {
  name: string;
  result?: AudioResult;
  failure?: { code: string; reason: string };
}

/** Polls every job until each has completed or failed for good, drawing one bar for the batch (and one per job). */
async function follow(queue: Queue, jobs: { name: string; id: string }[], out: NodeJS.WriteStream): Promise<Outcome[]> {
  const tty = Boolean(out.isTTY);
  const stall = new StallClock();
  let drawn = 0;
  let lastHead = '';
  let outageSince: number | undefined;
  const draw = (lines: string[]) => {
    if (!tty) {
      const key = lines[0].replace(/\(\d+ s\)$|for \d+ s$/, '');
      if (key !== lastHead) out.write(`${lines[0]}\n`);
      lastHead = key;
      return;
    }
    if (drawn) out.write(`\x1b[${drawn}A\x1b[0J`);
    out.write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  for (;;) {
    let snapshot: { name: string; job: Job | undefined; state: string }[];
    try {
      snapshot = await Promise.all(
        jobs.map(async (j) => ({ name: j.name, job: await queue.getJob(j.id), state: await queue.getJobState(j.id) })),
      );
      outageSince = undefined;
    } catch (err) {
      if (!isRedisOutage(err)) throw err;
      outageSince ??= Date.now();
      draw([`Redis unreachable, retrying (${Math.floor((Date.now() - outageSince) / 1000)} s)`]);
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const lost = snapshot.find((s) => !s.job);
    if (lost)
      throw new Error(
        `audio job for ${lost.name} disappeared from the queue (Redis restarted without persistence?); run the same ` +
          'command again to resume: job ids come from the files, so finished conversions Redis still knows are not redone',
      );
    const done = snapshot.filter((s) => s.state === 'completed' || s.state === 'failed');
    const failed = snapshot.filter((s) => s.state === 'failed');
    const active = snapshot.filter((s) => s.state === 'active');
    const progressOf = (j: Job | undefined) => (typeof j?.progress === 'number' ? j.progress : 0);
    stall.observe(`${done.length}|${active.map((a) => `${a.name}:${progressOf(a.job)}`).join(',')}`);
    const finished = done.length === jobs.length;
    const head =
      `audio ${bar(done.length / jobs.length)} ${done.length}/${jobs.length}` +
      (failed.length ? `  failed ${failed.length}` : '') +
      (finished ? '' : stallNote(stall, active.length));
    draw([
      head,
      ...active
        .slice(0, 8)
        .map(
          (a) => `  ${a.name.padEnd(32)} ${bar(progressOf(a.job) / 100, 20)} ${String(progressOf(a.job)).padStart(3)}%`,
        ),
    ]);
    if (finished)
      return snapshot.map((s) =>
        s.state === 'completed'
          ? { name: s.name, result: s.job!.returnvalue as AudioResult }
          : { name: s.name, failure: { code: failureCode(s.job!.failedReason), reason: s.job!.failedReason ?? '' } },
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

function summary(outcomes: Outcome[], outDir: string): string {
  const ok = outcomes.filter((o) => o.result);
  const bad = outcomes.filter((o) => o.failure);
  const sum = (f: (r: AudioResult) => number) => ok.reduce((s, o) => s + f(o.result!), 0);
  const parts = [
    `audio -> ${outDir}`,
    table([
      ['files', String(outcomes.length)],
      ['converted', String(ok.length)],
      ['failed', String(bad.length)],
      ['duration', `${(sum((r) => r.durationMs) / 1000).toFixed(1)} s`],
      ['bytes before', bytes(sum((r) => r.bytesIn))],
      ['bytes after', bytes(sum((r) => r.bytesOut))],
    ]),
  ];
  if (ok.length)
    parts.push(
      'converted',
      table([
        ['file', 'seconds', 'size', 'output'],
        ...ok.map((o) => [
          o.name,
          (o.result!.durationMs / 1000).toFixed(1),
          bytes(o.result!.bytesOut),
          path.basename(o.result!.output),
        ]),
      ]),
    );
  if (bad.length)
    parts.push(
      'failures',
      table([
        ['file', 'code', 'reason'],
        ...bad.map((o) => [o.name, o.failure!.code, reasonWithoutCode(o.failure!.code, o.failure!.reason)]),
      ]),
    );
  return parts.join('\n') + '\n';
}

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    out: { type: 'string' },
    bitrate: { type: 'string' },
    workers: { type: 'string', default: 'auto' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`audio convert takes one WAV file or folder, got ${positionals.length}`);
  checkWorkersMode(values.workers);
  const common = loadCommonConfig();
  const config = loadWorkersConfig(process.env, common.RESOUND_DATA_DIR);
  const bitrate = values.bitrate === undefined ? config.WORKERS_AUDIO_BITRATE : Number(values.bitrate);
  if (!Number.isInteger(bitrate) || bitrate < 6000 || bitrate > 510_000)
    throw new UsageError(`--bitrate=${JSON.stringify(values.bitrate)}: must be an integer from 6000 to 510000`);
  const outDir = path.resolve(values.out ?? config.audioOutDir);
  const { files, skipped } = await scanAudio(positionals[0], config, outDir, bitrate);
  if (skipped.length)
    process.stdout.write(
      `skipped ${plural(skipped.length, 'file')} that ${skipped.length === 1 ? 'is' : 'are'} not .wav: ${skipped.join(', ')}\n`,
    );
  const logger = cliLogger(common);
  const session = await openConvertSession(common, config, logger);
  const { producers } = session;
  try {
    await startLocalWorkerIfIdle(session, 'audio', values.workers, config, logger, plural(files.length, 'file'));
    const jobs = [];
    for (const f of files) jobs.push({ name: f.name, id: await producers.addAudio(f.data) });
    let outcomes: Outcome[];
    try {
      outcomes = await follow(producers.queues.audio, jobs, process.stdout);
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
    process.stdout.write('\n' + summary(outcomes, outDir));
    return outcomes.some((o) => o.failure) ? 1 : 0;
  } finally {
    await closeConvertSession(session);
  }
}

/** `resound audio …`; sets the exit status rather than exiting, so open handles are closed first. */
export async function audioCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'convert') process.exitCode = await withUsage(USAGE, () => convert(rest));
  else if (sub === 'help' || sub === '--help' || sub === '-h') console.log(USAGE);
  else
    process.exitCode = await withUsage(USAGE, () =>
      Promise.reject(new UsageError(sub ? `unknown audio command "${sub}"` : 'audio needs a command')),
    );
}
