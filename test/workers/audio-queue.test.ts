import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { encodeWav16 } from '../../workers/audio/wav.ts';
import type { AudioResult } from '../../workers/processors/audio.ts';
import { JobDataError } from '../../workers/producer.ts';
import { sha256Of, type AudioJobData } from '../../workers/queues.ts';
import { finishedJob, sine, tempDir, testConfig, uniquePrefix, useFleet } from './helpers.ts';

const prefix = uniquePrefix('audio');
const config = testConfig(prefix, { WORKERS_QUEUES: 'audio' });
const t = useFleet(prefix, config);
const dir = tempDir('audio');
const outDir = path.join(dir, 'out');

function job(file: string, data: Buffer, extra: Partial<AudioJobData> = {}): AudioJobData {
  fs.writeFileSync(file, data);
  return {
    source: file,
    sha256: sha256Of(data),
    outDir,
    input: { format: 'wav' },
    bitrate: 32_000,
    maxSeconds: 30,
    purpose: 'voice_message',
    ...extra,
  };
}

const finished = (id: string): Promise<Job> => finishedJob(t.producers.queues.audio, id);

describe('audio queue (sandboxed, real Redis)', () => {
  it('turns a WAV into Ogg Opus that opusinfo accepts, reporting progress, and a re-add is the same job', async () => {
    const data = job(path.join(dir, 'voice.wav'), encodeWav16(sine(44_100, 2, 1.5), 44_100, 2));
    const progress: unknown[] = [];
    const w = t.fleet.workers[0];
    const onProgress = (_j: Job, p: unknown) => progress.push(p);
    w.on('progress', onProgress);
    const id = await t.producers.addAudio(data);
    expect(await t.producers.addAudio(data)).toBe(id);
    const j = await finished(id);
    w.off('progress', onProgress);
    expect(j.failedReason).toBeUndefined();
    const r = j.returnvalue as AudioResult;
    expect(r.durationMs).toBe(1500);
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.ogg'))).toEqual([path.basename(r.output)]);
    expect(sha256Of(fs.readFileSync(r.output))).toBe(r.sha256);
    expect(spawnSync('opusinfo', [r.output]).status).toBe(0);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(100);
  }, 60_000);

  it('accepts raw s16le with declared rate and channels', async () => {
    const pcm = Buffer.alloc(16_000 * 2);
    for (let i = 0; i < 16_000; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 2);
    const id = await t.producers.addAudio(
      job(path.join(dir, 'clip.pcm'), pcm, { input: { format: 's16le', sampleRate: 16_000, channels: 1 } }),
    );
    const j = await finished(id);
    expect((j.returnvalue as AudioResult).durationMs).toBe(1000);
  }, 60_000);

  it('fails a corrupt upload once, with its stable code, without spending retries', async () => {
    const id = await t.producers.addAudio(job(path.join(dir, 'bad.wav'), Buffer.from('RIFF....WAVEjunkjunkjunk')));
    const j = await finished(id);
    expect(await j.getState()).toBe('failed');
    expect(j.failedReason).toMatch(/^(unsupported_wav|truncated_wav): /);
    expect(j.attemptsMade).toBe(1);
    const text = await t.registry.metrics();
    expect(text).toMatch(
      /resound_workers_job_failures_total\{queue="audio",code="(unsupported_wav|truncated_wav)",final="true"\} 1/,
    );
  }, 60_000);

  it('refuses invalid job data at enqueue with a stable code and counts it', async () => {
    await expect(
      t.producers.addAudio({ source: 'relative.wav', sha256: 'x' } as unknown as AudioJobData),
    ).rejects.toBeInstanceOf(JobDataError);
    await expect(
      t.producers.addAudio({ source: 'relative.wav', sha256: 'x' } as unknown as AudioJobData),
    ).rejects.toMatchObject({ code: 'invalid_data' });
    expect(await t.registry.metrics()).toMatch(/resound_workers_rejected_jobs_total\{queue="audio"\} 2/);
  }, 60_000);

  it('fails a job whose data a foreign producer got wrong with invalid_data', async () => {
    const j = await t.producers.queues.audio.add('transcode', { source: '/nope' }, { attempts: 3 });
    const done = await finished(j.id!);
    expect(done.failedReason).toMatch(/^invalid_data: /);
    expect(done.attemptsMade).toBe(1);
  }, 60_000);

  it('fails a source that changed after enqueueing with source_changed', async () => {
    const data = job(path.join(dir, 'changed.wav'), encodeWav16(sine(8000, 1, 0.2), 8000, 1));
    fs.writeFileSync(data.source, encodeWav16(sine(8000, 1, 0.3), 8000, 1));
    const j = await finished(await t.producers.addAudio(data));
    expect(j.failedReason).toMatch(/^source_changed: /);
  }, 60_000);
});
