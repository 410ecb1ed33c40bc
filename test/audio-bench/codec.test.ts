import { describe, expect, it } from 'vitest';
import { decodeDirect, encodeFrames, FRAME_SAMPLES, LossAwareDecoder } from '../../bench/audio/index.ts';
import { audioFixture, readWav } from '../../testkit/index.ts';

const speech = readWav(audioFixture('speech-male.wav')).samples;

function energy(x: Float32Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return e;
}

describe('codec wrappers', () => {
  it('the loss-aware decoder agrees with @discordjs/opus (same libopus; floats may differ by a step)', async () => {
    const packets = encodeFrames(speech.subarray(0, FRAME_SAMPLES * 50), { bitrate: 32000, fec: false });
    const direct = decodeDirect(packets);
    const dec = await LossAwareDecoder.create();
    let o = 0;
    let maxDelta = 0;
    for (const p of packets)
      for (const v of dec.decode(p)) maxDelta = Math.max(maxDelta, Math.abs(Math.round(v * 32768) - direct[o++]));
    dec.close();
    expect(o).toBe(direct.length);
    expect(maxDelta).toBeLessThanOrEqual(2);
  });

  it('FEC rebuilds a lost speech frame far better than concealment', async () => {
    const packets = encodeFrames(speech, { bitrate: 24000, fec: true, expectedLossPercent: 10 });
    const reference = decodeDirect(packets);
    const lostFrames = [40, 70, 100, 130, 160];
    const run = async (useFec: boolean) => {
      const dec = await LossAwareDecoder.create();
      let err = 0;
      for (let i = 0; i < packets.length; i++) {
        const out = lostFrames.includes(i)
          ? useFec
            ? dec.decodeFec(packets[i + 1])
            : dec.conceal()
          : dec.decode(packets[i]);
        expect(out.length).toBe(FRAME_SAMPLES);
        if (lostFrames.includes(i))
          for (let k = 0; k < FRAME_SAMPLES; k++) err += (out[k] - reference[i * FRAME_SAMPLES + k] / 32768) ** 2;
      }
      dec.close();
      return err;
    };
    const withFec = await run(true);
    const withPlc = await run(false);
    const signal = energy(
      Float32Array.from(
        lostFrames.flatMap((i) =>
          [...reference.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES)].map((v) => v / 32768),
        ),
      ),
    );
    // FEC is a coarser copy of the frame (LBRR), concealment an extrapolation: expect several dB between them.
    expect(10 * Math.log10(signal / withFec)).toBeGreaterThan(10 * Math.log10(signal / withPlc) + 3);
  });

  it('encodes one packet per 20 ms frame, zero-padding the last one', () => {
    const packets = encodeFrames(speech.subarray(0, FRAME_SAMPLES * 3 + 10), { bitrate: 64000, fec: false });
    expect(packets.length).toBe(4);
  });
});
