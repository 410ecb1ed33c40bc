import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSamplePack } from '../../workers/sample-pack.ts';
import { obliterateQueues, runResound, tempDir, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('cli');

const resound = (args: string[], env: Record<string, string> = {}) =>
  runResound(args, { WORKERS_PREFIX: prefix, RESOUND_DATA_DIR: tempDir('cli-data'), ...env });

afterAll(() => obliterateQueues(prefix));

describe('resound emoji convert', () => {
  it('converts a pack, prints progress and a summary table naming the failure, and exits 1', async () => {
    const dir = tempDir('cli-pack');
    const out = tempDir('cli-out');
    await writeSamplePack(dir, 4, { seed: 9, frames: 3 });
    fs.writeFileSync(path.join(dir, 'zz_bad.gif'), 'GIF89a this is not a gif');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an emoji');
    const r = await resound(['emoji', 'convert', dir, '--sizes', '16,32', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^skipped 1 file that is not an image \(\.png .*\): notes\.txt$/m);
    expect(r.stdout).toMatch(/converting in this process/);
    expect(r.stdout).toMatch(/^pack {2}\[#+\] 5\/5 {2}failed 1$/m);
    expect(r.stdout).toMatch(/^emojis +5 \(2 animated\)$/m);
    expect(r.stdout).toMatch(/^completed +4$/m);
    expect(r.stdout).toMatch(/^reduction median +\d+\.\d%/m);
    expect(r.stdout).toMatch(/^zz_bad +invalid_image +corrupt_image: /m); // the code is not repeated in the reason
    expect(fs.readdirSync(path.join(out, 'still_0000')).sort()).toEqual([
      '16.png',
      '16.webp',
      '32.png',
      '32.webp',
      'emoji.json',
    ]);
  }, 90_000);

  it('refuses bad sizes with a message naming the flag, the usage text and exit 2', async () => {
    const r = await resound(['emoji', 'convert', tempDir('cli-empty'), '--sizes', '16,abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--sizes="16,abc": must be comma-separated integers.*\n\nresound emoji — /);
  }, 90_000);

  it('answers --help with the usage (exit 0) and an unknown option with the usage and exit 2, never a stack', async () => {
    const help = await resound(['emoji', 'convert', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^resound emoji — batch emoji conversion/);
    const bad = await resound(['emoji', 'convert', tempDir('cli-empty'), '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Unknown option '--bogus'.*\n\nresound emoji — /s);
    expect(bad.stderr).not.toMatch(/ERR_PARSE_ARGS|\n\s+at /);
    const missing = await resound(['emoji', 'convert']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^emoji convert needs the pack folder\n\nresound emoji — /);
  }, 90_000);

  it('refuses a folder without images', async () => {
    const r = await resound(['emoji', 'convert', tempDir('cli-empty')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^resound emoji convert: no emoji images/);
  }, 90_000);
});
