/**
 * Readers for the committed fixtures (`fixtures/`): the voice clip as Opus frames, image files by name, audio clips
 * by name. The generators beside the fixtures write them; everything else reads them through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import opus from '@discordjs/opus';
import { readWavPcm16 } from './wav.ts';

export const FIXTURES_DIR = path.resolve(import.meta.dirname, '..', 'fixtures');
export const IMAGE_FIXTURES_DIR = path.join(FIXTURES_DIR, 'images');
export const AUDIO_FIXTURES_DIR = path.join(FIXTURES_DIR, 'audio');
export const VOICE_FIXTURE = path.join(FIXTURES_DIR, 'voice', 'chirp.wav');

/** The bytes of `fixtures/images/NAME`. */
export function imageFixture(name: string): Buffer {
  return fs.readFileSync(path.join(IMAGE_FIXTURES_DIR, name));
}

/** The path of `fixtures/audio/NAME` (a 48 kHz mono WAV; read it with `readWav`). */
export function audioFixture(name: string): string {
  return path.join(AUDIO_FIXTURES_DIR, name);
}

/** The voice clip (48 kHz stereo 16-bit) as 20 ms Opus frames encoded with @discordjs/opus, and its samples. */
export function fixtureOpusFrames(file: string = VOICE_FIXTURE): { frames: Buffer[]; pcm: Int16Array } {
  const { sampleRate, channels, pcm } = readWavPcm16(file);
  if (sampleRate !== 48000 || channels !== 2)
    throw new Error(`${file}: want 48 kHz stereo, got ${sampleRate}/${channels}`);
  const raw = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const enc = new opus.OpusEncoder(48000, 2);
  enc.setBitrate(64000);
  const frameBytes = 960 * 2 * 2;
  const frames: Buffer[] = [];
  for (let off = 0; off + frameBytes <= raw.length; off += frameBytes)
    frames.push(enc.encode(raw.subarray(off, off + frameBytes)));
  return { frames, pcm };
}
