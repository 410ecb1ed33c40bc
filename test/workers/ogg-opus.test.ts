import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import opus from '@discordjs/opus';
import { describe, expect, it } from 'vitest';
import { audioPackets, parseOpusHead } from '../../workers/audio/ogg-opus.ts';
import { HEADER_BOS, HEADER_EOS, oggCrc, parsePages } from '../../workers/audio/ogg-page.ts';
import { resampleInterleaved as resample } from '../../common/resample.ts';
import { FRAME_SAMPLES, pcmToOggOpus } from '../../workers/audio/transcode.ts';
import { AudioInputError, encodeWav16, parseS16le, parseWav } from '../../workers/audio/wav.ts';
import { sine, tempDir } from './helpers.ts';

function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('Ogg Opus container', () => {
  it('uses the Ogg CRC-32 (polynomial 0x04c11db7, init 0, no final xor)', () => {
    // CRC-32/CKSUM's catalogue check value is 0x765e7680 after its final xor with 0xffffffff; Ogg omits that xor.
    expect(oggCrc(Buffer.from('123456789'))).toBe(0x89a1897f);
  });

  it('writes OpusHead/OpusTags pages, valid CRCs and granules that trim to the exact input length', async () => {
    const rate = 44_100;
    const pcm = parseWav(encodeWav16(sine(rate, 2, 2.5), rate, 2));
    const r = await pcmToOggOpus(pcm, { bitrate: 64_000, serial: 0xdeadbeef, maxSeconds: 60 });
    const pages = parsePages(r.data);
    expect(pages.every((p) => p.crcOk && p.serial === 0xdeadbeef)).toBe(true);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(pages[0].headerType).toBe(HEADER_BOS);
    expect(pages[0].packets).toHaveLength(1);
    const head = parseOpusHead(pages[0].packets[0]);
    expect(head).toMatchObject({ channels: 2, inputSampleRate: 44_100, mappingFamily: 0 });
    expect(Buffer.from(pages[1].packets[0]).toString('latin1', 0, 8)).toBe('OpusTags');
    expect(pages[0].granule).toBe(0n);
    expect(pages[1].granule).toBe(0n);
    expect(pages.at(-1)!.headerType & HEADER_EOS).toBe(HEADER_EOS);
    const granules = pages.slice(2).map((p) => p.granule);
    expect([...granules].sort((a, b) => (a < b ? -1 : 1))).toEqual(granules);
    const total48 = resample(pcm.samples, 2, rate, 48_000).length / 2;
    expect(pages.at(-1)!.granule).toBe(BigInt(head.preSkip + total48));
    // Every packet decodes with libopus, and together they cover pre-skip plus the whole signal.
    const dec = new opus.OpusEncoder(48_000, 2);
    const decoded = audioPackets(pages).reduce((n, p) => n + dec.decode(Buffer.from(p)).length / 4, 0);
    expect(decoded).toBe(audioPackets(pages).length * FRAME_SAMPLES);
    expect(decoded).toBeGreaterThanOrEqual(head.preSkip + total48);
  });

  it('is accepted by opus-tools: opusinfo finds no problem and opusdec returns the signal at its exact length', async () => {
    const dir = tempDir('ogg');
    const pcm = parseWav(encodeWav16(sine(48_000, 1, 1.37, [523.25]), 48_000, 1));
    const r = await pcmToOggOpus(pcm, { bitrate: 48_000, serial: 7, maxSeconds: 60 });
    const file = path.join(dir, 'a.opus');
    fs.writeFileSync(file, r.data);
    const info = spawnSync('opusinfo', [file], { encoding: 'utf8' });
    expect(info.status).toBe(0);
    expect(info.stdout + info.stderr).not.toMatch(/WARNING|ERROR|corrupt|hole/i);
    expect(info.stdout).toMatch(/Pre-skip: 312/);
    const wav = path.join(dir, 'a.wav');
    const dec = spawnSync('opusdec', ['--rate', '48000', '--force-wav', file, wav], { encoding: 'utf8' });
    expect(dec.status).toBe(0);
    const back = parseWav(fs.readFileSync(wav));
    expect(back.samples.length).toBe(pcm.samples.length);
    expect(correlation(pcm.samples, back.samples)).toBeGreaterThan(0.95);
  });

  it('splits pages before 255 lacing values at the highest bitrate, and opusinfo still agrees', async () => {
    const noise = new Float32Array(48_000 * 2 * 3);
    let x = 1;
    for (let i = 0; i < noise.length; i++)
      noise[i] = ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 1.6;
    const r = await pcmToOggOpus(
      { sampleRate: 48_000, channels: 2, samples: noise },
      { bitrate: 510_000, serial: 3, maxSeconds: 60 },
    );
    const pages = parsePages(r.data);
    expect(pages.every((p) => p.crcOk && !p.openEnded)).toBe(true);
    // 1 s of 20 ms packets would need more than 255 lacing values at this size, so pages close early.
    expect(audioPackets(pages).some((p) => p.length > 255)).toBe(true);
    expect(Math.max(...pages.slice(2).map((p) => p.packets.length))).toBeLessThan(50);
    const file = path.join(tempDir('ogg-hi'), 'n.opus');
    fs.writeFileSync(file, r.data);
    const info = spawnSync('opusinfo', [file], { encoding: 'utf8' });
    expect(info.status).toBe(0);
    expect(info.stdout + info.stderr).not.toMatch(/WARNING|ERROR/);
    expect(info.stdout).toMatch(/Playback length: 0m:03\.000s/);
  });

  it('keeps a resampled tone at its pitch', () => {
    const s = resample(sine(22_050, 1, 1, [1000]), 1, 22_050, 48_000);
    expect(s.length).toBe(48_000);
    expect(correlation(s.subarray(200, 47_800), sine(48_000, 1, 1, [1000]).subarray(200, 47_800))).toBeGreaterThan(
      0.999,
    );
  });

  it('rejects bad audio with stable codes', async () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as AudioInputError).code;
      }
      return 'accepted';
    };
    expect(code(() => parseWav(Buffer.from('definitely not a wav file')))).toBe('not_wav');
    const wav = encodeWav16(sine(8000, 1, 0.1), 8000, 1);
    expect(code(() => parseWav(wav.subarray(0, 30)))).toBe('truncated_wav');
    const six = Buffer.from(wav);
    six.writeUInt16LE(6, 22);
    expect(code(() => parseWav(six))).toBe('unsupported_channels');
    expect(code(() => parseS16le(Buffer.alloc(3), 48_000, 1))).toBe('bad_pcm');
    await expect(
      pcmToOggOpus(parseS16le(Buffer.alloc(0), 48_000, 1), { bitrate: 64_000, serial: 1, maxSeconds: 5 }),
    ).rejects.toMatchObject({ code: 'empty_audio' });
    await expect(
      pcmToOggOpus(parseWav(encodeWav16(sine(8000, 1, 3), 8000, 1)), { bitrate: 64_000, serial: 1, maxSeconds: 2 }),
    ).rejects.toMatchObject({ code: 'too_long' });
  });
});
