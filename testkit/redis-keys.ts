/** Clean-up of a test's or bench's own Redis keys on the shared server (never FLUSHDB: others use it too). */
import type { Redis } from '../common/redis.ts';

/** Deletes every key under `prefix`, scanning in pages so a large key space does not block the server. */
export async function dropPrefix(redis: Redis, prefix: string, pageSize = 500): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', pageSize);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
