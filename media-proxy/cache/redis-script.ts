import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA1 (EVALSHA), loaded with SCRIPT LOAD at start so no request carries the script's text.
 * Redis forgets scripts on restart or SCRIPT FLUSH: a NOSCRIPT answer reloads it once and retries. (ioredis'
 * defineCommand would send the whole script as EVAL on each new connection's first call instead.)
 */
export class RedisScript {
  readonly sha: string;
  constructor(
    private readonly redis: Redis,
    private readonly lua: string,
    private readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async load(): Promise<void> {
    await this.redis.script('LOAD', this.lua);
  }

  async run(args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(this.sha, this.numberOfKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      await this.load();
      return this.redis.evalsha(this.sha, this.numberOfKeys, ...args);
    }
  }
}
