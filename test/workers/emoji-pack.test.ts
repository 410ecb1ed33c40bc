import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { EmojiResult } from '../../workers/emoji-types.ts';
import { packStatus } from '../../workers/pack-progress.ts';
import { emojiNameFor, scanPack } from '../../workers/pack-scan.ts';
import { writeSamplePack } from '../../workers/sample-pack.ts';
import { tempDir, testConfig, uniquePrefix, useFleet, waitFor } from './helpers.ts';

const prefix = uniquePrefix('emoji');
const config = testConfig(prefix, { WORKERS_QUEUES: 'emoji', WORKERS_EMOJI_SIZES: '16,32,48' });
const t = useFleet(prefix, config);

describe('emoji packs', () => {
  it('folds file names into Discord emoji names', () => {
    expect(emojiNameFor('/x/party-parrot.gif')).toBe('party_parrot');
    expect(emojiNameFor('a.png')).toBe('emoji_a');
    expect(emojiNameFor('ü.png')).toBe('emoji');
    expect(emojiNameFor(`${'x'.repeat(40)}.png`)).toHaveLength(32);
  });

  it('converts a pack; a corrupt and an oversized image fail only their own jobs and the summary names them', async () => {
    const dir = tempDir('pack');
    const out = tempDir('pack-out');
    await writeSamplePack(dir, 4, { seed: 3, frames: 4 });
    fs.writeFileSync(
      path.join(dir, 'broken.png'),
      Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('not really a png at all')]),
    );
    // Too large two ways: more bytes than the pack allows, and a canvas wider than any emoji source may be.
    const noise = randomBytes(700 * 700 * 3);
    fs.writeFileSync(
      path.join(dir, 'huge_bytes.png'),
      await sharp(noise, { raw: { width: 700, height: 700, channels: 3 } })
        .png()
        .toBuffer(),
    );
    fs.writeFileSync(
      path.join(dir, 'huge_canvas.png'),
      await sharp({ create: { width: 5000, height: 8, channels: 3, background: '#f00' } })
        .png()
        .toBuffer(),
    );

    const input = await scanPack(dir, { outDir: out, sizes: config.WORKERS_EMOJI_SIZES, maxBytes: 200_000 });
    const { packId } = await t.producers.addEmojiPack(input);
    const status = await waitFor('pack', async () => {
      const s = await packStatus(t.producers.queues.emoji, packId);
      return s?.state === 'completed' ? s : undefined;
    });
    const summary = status.summary!;
    expect(summary).toMatchObject({ total: 7, completed: 4, failed: 3, animated: 2 });
    expect(status).toMatchObject({ done: 7, failed: 3, total: 7 });
    expect(summary.failures.map((f) => [f.name, f.code])).toEqual([
      ['broken', 'invalid_image'],
      ['huge_bytes', 'too_large'],
      ['huge_canvas', 'image_too_large'],
    ]);
    expect(summary.failures.every((f) => f.reason.length > 20 && f.source.startsWith(dir))).toBe(true);
    // Input errors are final: no retries spent on them.
    for (const f of summary.failures) {
      const job = (await t.producers.queues.emoji.getJobs(['failed'])).find((j) => j.data.name === f.name);
      expect(job?.attemptsMade).toBe(1);
    }
    expect(JSON.parse(fs.readFileSync(path.join(out, 'pack-summary.json'), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(summary)),
    );

    for (const e of input.emojis.filter((x) => x.name.startsWith('still') || x.name.startsWith('anim'))) {
      const meta = JSON.parse(fs.readFileSync(path.join(out, e.name, 'emoji.json'), 'utf8')) as EmojiResult;
      const animated = e.name.startsWith('anim');
      expect(meta.is_animated).toBe(animated);
      const expected = [16, 32, 48].flatMap((s) => (animated ? [`${s}.webp`, `${s}.gif`] : [`${s}.png`, `${s}.webp`]));
      expect(fs.readdirSync(path.join(out, e.name)).sort()).toEqual([...expected, 'emoji.json'].sort());
      for (const o of meta.outputs) {
        const m = await sharp(path.join(out, e.name, o.file), { animated: true }).metadata();
        expect(m.format).toBe(o.format);
        expect(Math.max(m.width, m.pageHeight ?? m.height)).toBe(o.size);
        if (animated) expect(m.pages).toBe(4);
      }
    }
    expect(await t.registry.metrics()).toMatch(
      /resound_workers_job_failures_total\{queue="emoji",code="invalid_image",final="true"\} 1/,
    );
  }, 90_000);

  it('shows queue depth, latency and failures on /metrics', async () => {
    const text = await t.registry.metrics();
    expect(text).toMatch(/resound_workers_queue_jobs\{queue="emoji",state="completed"\} \d+/);
    expect(text).toMatch(/resound_workers_job_wait_seconds_count\{queue="emoji"\} [1-9]/);
    expect(text).toMatch(
      /resound_workers_job_duration_seconds_count\{queue="emoji",name="emoji",outcome="completed"\} [1-9]/,
    );
  }, 90_000);
});
