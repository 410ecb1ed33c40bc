#!/usr/bin/env -S npx tsx
import { loadCommonConfig, ConfigError } from '../common/config.ts';
import { rootLogger } from '../common/logger.ts';
import { ensureRedis, type RedisHandle } from '../common/redis.ts';
import type { RunningPart } from '../common/part.ts';
import { PART_ALIASES, PARTS } from './parts.ts';

const USAGE = `resound — media and voice platform

  resound start [PART…]        start parts in one process (default: all). Parts: ${Object.keys(PARTS).join(', ')}
                               (aliases: ${Object.entries(PART_ALIASES)
                                 .map(([a, p]) => `${a} → ${p}`)
                                 .join(', ')})
  resound emoji convert <dir>  convert an emoji pack through the worker fleet (see workers/README.md)
  resound emoji sample <dir>   write a generated sample pack to try it with
  resound seed                 create a guild, channels and a bot user for gateway-lite; prints the bot token
  resound audio-bench [--quick] audio quality through the real voice path (see bench/audio/README.md)
  resound help                 this text

Configuration comes from environment variables; see README.md.`;

async function start(names: string[]): Promise<void> {
  const common = loadCommonConfig();
  const logger = rootLogger(common.LOG_LEVEL);
  const known = [...Object.keys(PARTS), ...Object.keys(PART_ALIASES)];
  for (const n of names)
    if (!known.includes(n)) throw new ConfigError([`unknown part "${n}"; choose from ${known.join(', ')}`]);
  const chosen = names.length ? [...new Set(names.map((n) => PART_ALIASES[n] ?? n))] : Object.keys(PARTS);
  let redis: Promise<RedisHandle> | undefined;
  const ctx = {
    env: process.env,
    common,
    logger,
    redis: () => (redis ??= ensureRedis(common.REDIS_URL, common.RESOUND_DATA_DIR, logger)),
  };
  const running: RunningPart[] = [];
  for (const n of chosen) running.push(await (await PARTS[n]())(ctx));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const p of running.reverse())
      await p.close().catch((err) => logger.error({ err, part: p.name }, 'close failed'));
    if (redis) await (await redis).close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
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
