import type { Logger } from 'pino';
import type { CommonConfig, Env } from './config.ts';
import type { RedisHandle } from './redis.ts';

/** What a part gave back to others when it stopped (e.g. `{ jobs: 2 }` returned to the queue), for the last log line. */
export type HandedBack = Record<string, number>;

/** What `resound start` keeps for each running part: where it listens and how to stop it. */
export interface RunningPart {
  name: string;
  urls: Record<string, string>;
  close(): Promise<HandedBack | void>;
}

export interface PartContext {
  env: Env;
  common: CommonConfig;
  logger: Logger;
  /** Redis shared by the parts of this process (REDIS_URL, or a local child started on first use). */
  redis(): Promise<RedisHandle>;
  /** The parts this process runs (`resound start` with no names: all of them); parts size their defaults by it. */
  parts?: readonly string[];
}

/** Every part's index.ts exports one of these as `start`; `resound start PART…` calls them. */
export type PartStarter = (ctx: PartContext) => Promise<RunningPart>;
