#!/usr/bin/env -S npx tsx
import { loadCommonConfig, ConfigError } from '../common/config.ts';
import { rootLogger } from '../common/logger.ts';
import { ensureRedis, type RedisHandle } from '../common/redis.ts';
import type { HandedBack, RunningPart } from '../common/part.ts';
import { PART_ALIASES, PARTS } from './parts.ts';

const USAGE = `resound — media and voice platform

  resound start [PART…]        start parts in one process (default: all). Parts: ${Object.keys(PARTS).join(', ')}
                               (aliases: ${Object.entries(PART_ALIASES)
                                 .map(([a, p]) => `${a} → ${p}`)
                                 .join(', ')})
  resound emoji convert <dir>  convert an emoji pack through the worker fleet (see workers/README.md)
  resound emoji sample <dir>   write a generated sample pack to try it with
  resound audio convert <wav|dir>  WAV → Ogg Opus through the audio queue, with progress and a summary
  resound seed                 create a guild, channels and a bot user for gateway-lite; prints the bot token
  resound help                 this text

Configuration comes from environment variables; see README.md. Benchmarks: npm run bench -- NAME (not shipped here).`;

/** Parts close in reverse start order; a part still closing after this long is abandoned (the exit line says so). */
const CLOSE_LIMIT_MS = 60_000;

async function start(names: string[]): Promise<void> {
  const common = loadCommonConfig();
  const logger = rootLogger(common.LOG_LEVEL);
  const known = [...Object.keys(PARTS), ...Object.keys(PART_ALIASES)];
  for (const n of names)
    if (!known.includes(n)) throw new ConfigError([`unknown part "${n}"; choose from ${known.join(', ')}`]);
  const chosen = names.length ? [...new Set(names.map((n) => PART_ALIASES[n] ?? n))] : Object.keys(PARTS);
  const startup = new AbortController();
  let redis: Promise<RedisHandle> | undefined;
  const resolveRedis = async (): Promise<RedisHandle> => {
    const handle = await ensureRedis(common.REDIS_URL, common.RESOUND_DATA_DIR, logger, { signal: startup.signal });
    // Sandboxed job processors are forked with this environment: point them at the Redis actually in use.
    if (handle.child) process.env.REDIS_URL = handle.url;
    return handle;
  };
  const ctx = { env: process.env, common, logger, redis: () => (redis ??= resolveRedis()), parts: chosen };
  const running: RunningPart[] = [];

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while closing: the operator wants out now.
      logger.warn({ signal }, 'second signal while stopping; exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    startup.abort();
    // A part mid-start (e.g. waiting for Redis, which the abort ends) joins `running` before we close the list.
    await Promise.race([startAll.catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    logger.info({ signal, parts: running.map((p) => p.name) }, 'shutting down');
    const handedBack: Record<string, HandedBack> = {};
    const abandoned: string[] = [];
    for (const p of [...running].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), CLOSE_LIMIT_MS)));
      const result = await Promise.race([p.close(), limit]).catch((err: unknown) => {
        logger.error({ err, part: p.name }, 'close failed');
        return undefined;
      });
      clearTimeout(timer);
      if (result === 'timeout') abandoned.push(p.name);
      else if (result) handedBack[p.name] = result;
    }
    if (redis) await (await redis.catch(() => undefined))?.close();
    logger.info({ signal, handed_back: handedBack, abandoned }, 'stopped');
    // The last line is the one supervisors and tests read: make sure it is written before the process goes.
    await new Promise<void>((r) => logger.flush(() => r()));
    process.exit(abandoned.length ? 1 : 0);
  };
  // Registered before any part starts, so a signal during start-up (e.g. while waiting for Redis) still stops cleanly.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const startAll = (async () => {
    for (const n of chosen) {
      if (stopping) return;
      running.push(await (await PARTS[n]())(ctx));
    }
  })();
  try {
    await startAll;
  } catch (err) {
    if (stopping) return; // start-up interrupted by a signal; stop() finishes the job
    for (const p of [...running].reverse()) await p.close().catch(() => {});
    if (redis) await (await redis.catch(() => undefined))?.close();
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'start', ...rest] = argv;
  switch (cmd) {
    case 'start':
      return start(rest);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default: {
      const sub = await import('./commands.ts');
      const run = sub.COMMANDS[cmd];
      if (!run) {
        console.error(`unknown command "${cmd}"\n\n${USAGE}`);
        process.exit(2);
      }
      await run(rest);
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
