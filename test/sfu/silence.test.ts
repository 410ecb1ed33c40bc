/** Opus silence detection and the per-sender silence-tail tracker. */
import { describe, expect, it } from 'vitest';
import { OPUS_SILENCE_FRAME, SILENCE_TAIL_FRAMES, SilenceTail, isOpusSilence } from '../../sfu/rtp/silence.ts';

describe('isOpusSilence', () => {
  it('recognises F8 FF FE at any offset, and only with length 3', () => {
    const buf = Uint8Array.of(0x80, 0x78, 0xf8, 0xff, 0xfe, 0x00);
    expect(isOpusSilence(buf, 2, 3)).toBe(true);
    expect(isOpusSilence(OPUS_SILENCE_FRAME, 0, 3)).toBe(true);
    expect(isOpusSilence(buf, 2, 4)).toBe(false);
    expect(isOpusSilence(buf, 1, 3)).toBe(false);
    expect(isOpusSilence(Uint8Array.of(0xf8, 0xff), 0, 2)).toBe(false);
    expect(isOpusSilence(Uint8Array.of(0xf8, 0xff, 0xfd), 0, 3)).toBe(false);
  });
});

describe('SilenceTail', () => {
  it('a speaker who vanishes mid-talk is owed a 5-frame tail, once, after the gap', () => {
    const t = new SilenceTail(200);
    t.onPacket(false, 1000);
    t.onPacket(false, 1020);
    expect(t.talking).toBe(true);
    expect(t.dueAt()).toBe(1220);
    expect(t.poll(1219)).toBe(0);
    expect(t.poll(1220)).toBe(SILENCE_TAIL_FRAMES);
    expect(t.poll(5000)).toBe(0);
    expect(t.dueAt()).toBe(Infinity);
  });

  it('a spurt the sender closed with silence frames needs nothing', () => {
    const t = new SilenceTail(100);
    t.onPacket(false, 0);
    for (let i = 1; i <= 4; i++) t.onPacket(true, i * 20);
    expect(t.talking).toBe(false);
    expect(t.poll(1000)).toBe(0);
  });

  it('speech after silence opens a new spurt', () => {
    const t = new SilenceTail(100, 3);
    t.onPacket(false, 0);
    t.onPacket(true, 20);
    t.onPacket(false, 40);
    expect(t.poll(140)).toBe(3);
  });

  it('silence alone opens no spurt', () => {
    const t = new SilenceTail();
    t.onPacket(true, 0);
    expect(t.poll(10_000)).toBe(0);
    expect(t.end()).toBe(0);
  });

  it('end() settles at once (muted or leaving mid-talk)', () => {
    const t = new SilenceTail();
    t.onPacket(false, 0);
    expect(t.end()).toBe(SILENCE_TAIL_FRAMES);
    expect(t.end()).toBe(0);
  });
});
