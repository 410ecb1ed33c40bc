import path from 'node:path';
import { loadCommonConfig } from '../../common/config.ts';
import { loadWorkersConfig } from '../config.ts';
import { EMOJI_EXTENSIONS, scanPack } from '../pack-scan.ts';
import { writeSamplePack } from '../sample-pack.ts';
import { parseCliArgs, plural, UsageError, withUsage } from './cli-args.ts';
import {
  checkWorkersMode,
  cliLogger,
  closeConvertSession,
  openConvertSession,
  startLocalWorkerIfIdle,
} from './convert-session.ts';
import { ProgressView } from './progress-view.ts';
import { summaryTable } from './summary-table.ts';

const USAGE = `resound emoji — batch emoji conversion through the worker queues

  resound emoji convert <dir> [--sizes 16,32,48] [--out DIR] [--workers auto|local|fleet]
      Enqueue every image in <dir> as one pack, show progress, print a summary.
      --sizes    pixel sizes to render (default WORKERS_EMOJI_SIZES)
      --out      output folder (default <RESOUND_DATA_DIR>/emoji/<dir name>)
      --workers  auto: run workers in this process when none is consuming the emoji queue (default);
                 local: always; fleet: never (wait for the fleet against REDIS_URL)
  resound emoji sample <dir> [--count 20]
      Write a generated sample pack (half animated GIF) to try the pipeline with.

Exit status: 0 when every emoji converted, 1 when some failed (listed in the summary), 2 on bad usage.
A run interrupted (Ctrl-C, lost Redis) resumes when the same command is run again: job ids come from the files.`;

function sizesArg(v: string | undefined, dflt: number[]): number[] {
  if (v === undefined) return dflt;
  const sizes = v.split(',').map((s) => Number(s.trim()));
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 8 || n > 4096)) {
    throw new UsageError(`--sizes=${JSON.stringify(v)}: must be comma-separated integers between 8 and 4096`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    sizes: { type: 'string' },
    out: { type: 'string' },
    workers: { type: 'string', default: 'auto' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = positionals[0];
  if (!dir) throw new UsageError('emoji convert needs the pack folder');
  if (positionals.length > 1) throw new UsageError(`emoji convert takes one folder, got ${positionals.length}`);
  checkWorkersMode(values.workers);
  const common = loadCommonConfig();
  const config = loadWorkersConfig(process.env, common.RESOUND_DATA_DIR);
  const logger = cliLogger(common);
  const sizes = sizesArg(values.sizes, config.WORKERS_EMOJI_SIZES);
  const outDir = path.resolve(
    values.out ?? path.join(common.RESOUND_DATA_DIR, 'emoji', path.basename(path.resolve(dir))),
  );
  const session = await openConvertSession(common, config, logger);
  const { producers } = session;
  try {
    let input;
    try {
      input = await scanPack(dir, { outDir, sizes, maxBytes: config.WORKERS_EMOJI_MAX_BYTES });
    } catch (err) {
      console.error(`resound emoji convert: ${(err as Error).message}`);
      return 2;
    }
    if (input.skipped.length)
      process.stdout.write(
        `skipped ${plural(input.skipped.length, 'file')} that ${input.skipped.length === 1 ? 'is' : 'are'} not an ` +
          `image (${EMOJI_EXTENSIONS.join(' ')}): ${input.skipped.join(', ')}\n`,
      );
    await startLocalWorkerIfIdle(
      session,
      'emoji',
      values.workers,
      config,
      logger,
      plural(input.emojis.length, 'emoji'),
    );
    const { packId } = await producers.addEmojiPack(input);
    let status;
    try {
      status = await new ProgressView(process.stdout).follow(producers.queues.emoji, packId);
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
    if (status.state === 'failed' || !status.summary) {
      console.error(`pack failed: ${status.failedReason ?? 'no summary was produced'}`);
      return 1;
    }
    process.stdout.write('\n' + summaryTable(status.summary));
    return status.summary.failed ? 1 : 0;
  } finally {
    await closeConvertSession(session);
  }
}

async function sample(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, { count: { type: 'string', default: '20' } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = Number(values.count);
  if (positionals.length !== 1) throw new UsageError('emoji sample needs one folder to write into');
  if (!Number.isInteger(count) || count < 1 || count > 10_000)
    throw new UsageError(`--count=${JSON.stringify(values.count)}: must be an integer from 1 to 10000`);
  const files = await writeSamplePack(path.resolve(positionals[0]), count);
  process.stdout.write(`wrote ${files.length} sample emojis to ${path.resolve(positionals[0])}\n`);
  return 0;
}

/** `resound emoji …`; sets the exit status rather than exiting, so open handles are closed first. */
export async function emojiCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'convert') process.exitCode = await withUsage(USAGE, () => convert(rest));
  else if (sub === 'sample') process.exitCode = await withUsage(USAGE, () => sample(rest));
  else if (sub === 'help' || sub === '--help' || sub === '-h') console.log(USAGE);
  else
    process.exitCode = await withUsage(USAGE, () =>
      Promise.reject(new UsageError(sub ? `unknown emoji command "${sub}"` : 'emoji needs a command')),
    );
}
