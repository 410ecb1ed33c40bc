import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.ts';
import { loadWorkersConfig } from '../../workers/config.ts';
import { jobIdFor, stableJson } from '../../workers/queues.ts';

const tempDir = (tag: string) => fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, `${tag}-`));

describe('workers config', () => {
  it('has working defaults', () => {
    const dir = tempDir('workers-config');
    const c = loadWorkersConfig({}, dir);
    expect(c.WORKERS_QUEUES).toEqual(['emoji', 'prerender', 'audio']);
    expect(c.WORKERS_EMOJI_SIZES).toEqual([16, 32, 48, 64, 96, 128]);
    expect(c.audioOutDir).toBe(path.join(dir, 'audio'));
  });

  it('gives each instance its own queue prefix by default; a fleet shares one by configuring it', () => {
    const [one, two] = [tempDir('instance-one'), tempDir('instance-two')];
    const a = loadWorkersConfig({}, one).WORKERS_PREFIX;
    expect(a).toMatch(/^resound-[0-9a-f]{10}$/);
    // The same instance (its data folder) keeps its prefix across restarts and for the CLI run beside it…
    expect(loadWorkersConfig({}, one).WORKERS_PREFIX).toBe(a);
    expect(fs.readFileSync(path.join(one, 'workers-prefix'), 'utf8').trim()).toBe(a);
    // …an independent instance on the same Redis does not share its queues…
    expect(loadWorkersConfig({}, two).WORKERS_PREFIX).not.toBe(a);
    // …and fleet members opt in by naming the same prefix.
    expect(loadWorkersConfig({ WORKERS_PREFIX: 'fleet' }, one).WORKERS_PREFIX).toBe('fleet');
    expect(loadWorkersConfig({ WORKERS_PREFIX: 'fleet' }, two).WORKERS_PREFIX).toBe('fleet');
  });

  it('takes a queue subset, or none', () => {
    expect(loadWorkersConfig({ WORKERS_QUEUES: 'audio, emoji' }, '/d').WORKERS_QUEUES).toEqual(['audio', 'emoji']);
    expect(loadWorkersConfig({ WORKERS_QUEUES: 'none' }, '/d').WORKERS_QUEUES).toEqual([]);
  });

  it('names the bad variable', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadWorkersConfig(env, '/d');
      } catch (e) {
        return (e as ConfigError).issues.join('\n');
      }
      return 'accepted';
    };
    expect(bad({ WORKERS_QUEUES: 'emoji,video' })).toMatch(/^WORKERS_QUEUES=/);
    expect(bad({ WORKERS_EMOJI_SIZES: '16,x' })).toMatch(/^WORKERS_EMOJI_SIZES="16,x": must be a comma-separated list/);
    expect(bad({ WORKERS_EMOJI_SIZES: '4,16' })).toMatch(/^WORKERS_EMOJI_SIZES=.*between 8 and 4096/);
    expect(bad({ WORKERS_ADMIN_TOKEN: 'short' })).toMatch(/^WORKERS_ADMIN_TOKEN=/);
    expect(bad({ WORKERS_PREFIX: 'a:b' })).toMatch(/^WORKERS_PREFIX=/);
  });

  it('derives job ids from content and parameters, whatever the key order', () => {
    expect(stableJson({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe('{"a":[2,{"d":3}],"b":1}');
    const a = jobIdFor('emoji', 'one', { sha: 'x', sizes: [16], out: '/o' });
    expect(jobIdFor('emoji', 'one', { out: '/o', sizes: [16], sha: 'x' })).toBe(a);
    expect(jobIdFor('emoji', 'one', { out: '/o', sizes: [32], sha: 'x' })).not.toBe(a);
    expect(a).toMatch(/^emoji-one-[0-9a-f]{40}$/);
  });
});
