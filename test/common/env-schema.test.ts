import { describe, expect, it } from 'vitest';
import { spawnNode } from '../../testkit/index.ts';

const CHILD = new URL('./fixtures/print-env-reads.ts', import.meta.url).pathname;

/** Runs the child with `env` and returns its JSON line, or the error text when it fails. */
async function run(env: Record<string, string>): Promise<{ out?: Record<string, unknown>; error?: string }> {
  const p = spawnNode(['--import', import.meta.resolve('tsx'), CHILD], { env });
  const code = await new Promise<number | null>((r) => p.child.once('exit', r));
  const text = p.lines.join('\n');
  if (code !== 0) return { error: text };
  return { out: JSON.parse(p.lines.find((l) => l.startsWith('{'))!) as Record<string, unknown> };
}

describe('process-wide env reads go through the common schema', () => {
  it('snowflake ids and the root logger take RESOUND_WORKER_ID, RESOUND_PROCESS_ID and LOG_LEVEL', async () => {
    const { out } = await run({ RESOUND_WORKER_ID: '7', RESOUND_PROCESS_ID: '19', LOG_LEVEL: 'error' });
    expect(out).toEqual({ workerId: 7, processId: 19, level: 'error' });
  });

  it('an out-of-range id is a configuration error naming the variable, not silently masked to 5 bits', async () => {
    const { error } = await run({ RESOUND_WORKER_ID: '40', LOG_LEVEL: 'error' });
    expect(error).toMatch(/RESOUND_WORKER_ID="40"/);
  });

  it('an unknown log level is a configuration error naming the variable', async () => {
    const { error } = await run({ LOG_LEVEL: 'loud' });
    expect(error).toMatch(/LOG_LEVEL="loud"/);
  });
});
