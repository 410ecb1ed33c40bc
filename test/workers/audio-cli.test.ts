/** `resound audio convert`: WAV → Ogg Opus from the command line, through the real audio queue and sandbox. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../../workers/audio/wav.ts';
import { obliterateQueues, REDIS_URL, runResound, sine, tempDir, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('audio-cli');

const resound = (args: string[]) =>
  runResound(args, { REDIS_URL, WORKERS_PREFIX: prefix, RESOUND_DATA_DIR: tempDir('audio-cli-data') });

afterAll(() => obliterateQueues(prefix));

describe('resound audio convert', () => {
  it('converts every WAV in a folder, mentions what it skipped, and summarises with the failure named', async () => {
    const dir = tempDir('audio-cli-in');
    const out = tempDir('audio-cli-out');
    fs.writeFileSync(path.join(dir, 'a.wav'), encodeWav16(sine(48_000, 2, 1), 48_000, 2));
    fs.writeFileSync(path.join(dir, 'b.wav'), encodeWav16(sine(44_100, 1, 0.5, [330]), 44_100, 1));
    fs.writeFileSync(path.join(dir, 'broken.wav'), 'RIFF\u0000\u0000\u0000\u0000WAVEjunk');
    fs.writeFileSync(path.join(dir, 'readme.txt'), 'not audio');
    const r = await resound(['audio', 'convert', dir, '--out', out, '--bitrate', '32000', '--workers', 'local']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^skipped 1 file that is not \.wav: readme\.txt$/m);
    expect(r.stdout).toMatch(/^audio {1}\[#+\] 3\/3 {2}failed 1$/m);
    expect(r.stdout).toMatch(/^converted +2$/m);
    expect(r.stdout).toMatch(/^duration +1\.5 s$/m);
    expect(r.stdout).toMatch(/^broken\.wav +unsupported_wav +(?!unsupported_wav)/m);
    const oggs = fs.readdirSync(out).filter((f) => f.endsWith('.ogg'));
    expect(oggs).toHaveLength(2);
    for (const f of oggs) {
      expect(r.stdout).toContain(f);
      const info = spawnSync('opusinfo', [path.join(out, f)], { encoding: 'utf8' });
      expect(info.status).toBe(0);
    }
  }, 120_000);

  it('converts a single file and exits 0', async () => {
    const dir = tempDir('audio-cli-one');
    const out = tempDir('audio-cli-one-out');
    fs.writeFileSync(path.join(dir, 'voice.wav'), encodeWav16(sine(16_000, 1, 0.8, [440]), 16_000, 1));
    const r = await resound(['audio', 'convert', path.join(dir, 'voice.wav'), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^converted +1$/m);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.ogg'))).toHaveLength(1);
  }, 120_000);

  it('treats bad usage as usage: text and exit 2', async () => {
    const none = await resound(['audio', 'convert']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^audio convert takes one WAV file or folder, got 0\n\nresound audio — /);
    const rate = await resound(['audio', 'convert', tempDir('audio-cli-x'), '--bitrate', '5']);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/^--bitrate="5": must be an integer from 6000 to 510000/);
    const help = await resound(['audio', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/resound audio convert <file\.wav\|dir>/);
  }, 90_000);
});
