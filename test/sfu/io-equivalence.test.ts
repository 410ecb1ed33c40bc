/**
 * One recorded input through both datagram I/O paths (batched recvmmsg/sendmmsg and node:dgram) gives byte-identical
 * output per receiver, in the same order per stream: many senders on two channels, IP discovery interleaved with
 * keepalives, RTCP, garbage, oversized datagrams, unknown SSRCs, replays, a sequence-number wrap, and a stall of
 * every sender that makes the SFU synthesise silence tails before they resume.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPUS_SILENCE_FRAME, type IoPath, type Sfu, type UdpTransport } from '../../sfu/index.ts';
import { waitFor } from '../../testkit/index.ts';
import {
  burst,
  closePeers,
  datagramsIn,
  discovery,
  handled,
  join,
  peers,
  rtp,
  startSfu,
  type Peer,
} from './io-harness.ts';

type Step = { burst: [Peer, Buffer][] } | { stallUntilSilence: number };

interface Run {
  byReceiver: Map<string, string[]>[];
  dropped: Record<string, number>;
  datagrams: Record<string, number>;
  silence: number;
}

describe('the batched and node:dgram paths are equivalent', () => {
  let ps: Peer[];
  beforeAll(async () => {
    ps = await peers(6);
  });
  afterAll(() => closePeers(ps));

  /** Channel A: peers 0–3 (0 and 1 speak, 1 wraps its sequence); channel B: peers 4–5 (4 speaks). */
  const setUp = async (io: IoPath): Promise<{ sfu: Sfu; ts: UdpTransport[] }> => {
    const sfu = await startSfu(io, { silenceGapMs: 150, seed: 99 });
    expect(sfu.ioPath).toBe(io);
    const ts = [...join(sfu.createRouter('a'), ps.slice(0, 4), 100), ...join(sfu.createRouter('b'), ps.slice(4), 200)];
    return { sfu, ts };
  };

  /** The recorded input, made once (the same sealed bytes go to both SFUs). */
  const record = (ts: UdpTransport[]): Step[] => {
    const steps: Step[] = [];
    // Version bits 0, so never mistaken for RTP (a random first byte would sometimes count as not_opus).
    const garbage = () => Buffer.from([0x13, ...randomBytes(4 + (randomBytes(1)[0] % 60))]);
    const rtcp = () => Buffer.from([0x80, 0xc8, 0x00, 0x06, ...randomBytes(24)]);
    const keepalive = (n: number) => Buffer.from([n & 0xff, 0, 0, 0, 0, 0, 0, 0]);
    const opening: [Peer, Buffer][] = [];
    ps.forEach((p, i) => {
      opening.push([p, keepalive(i)], [p, discovery(ts[i].ssrc)], [p, garbage()]);
    });
    steps.push({ burst: opening });
    const speakers = [
      { peer: 0, seq: 1000, ts: 5000 },
      { peer: 1, seq: 65_530, ts: 0xffff_f000 },
      { peer: 4, seq: 20, ts: 960 },
    ];
    const sent: [Peer, Buffer][] = [];
    const talk = (frames: number) => {
      let chunk: [Peer, Buffer][] = [];
      for (let k = 0; k < frames; k++) {
        for (const s of speakers) {
          const p = ps[s.peer];
          const item: [Peer, Buffer] = [p, rtp(p, ts[s.peer].ssrc, s.seq, s.ts, randomBytes(40 + (k % 7) * 10))];
          s.seq = (s.seq + 1) & 0xffff;
          s.ts = (s.ts + 960) >>> 0;
          chunk.push(item);
          sent.push(item);
        }
        const p = ps[k % ps.length];
        if (k % 5 === 0) chunk.push([p, keepalive(k)]);
        if (k % 7 === 0) chunk.push([p, rtcp()]);
        if (k % 9 === 4) chunk.push(sent[sent.length - 4]); // a replay
        if (k % 11 === 0) chunk.push([p, garbage()]);
        if (k % 13 === 0) chunk.push([p, rtp(p, 0x0badf00d, k, k * 960, randomBytes(30))]); // unknown SSRC
        if (k % 17 === 0) chunk.push([p, Buffer.alloc(3000, 0x80)]); // oversized
        if (chunk.length >= 12) {
          steps.push({ burst: chunk });
          chunk = [];
        }
      }
      if (chunk.length) steps.push({ burst: chunk });
    };
    talk(40);
    // Every speaker stalls: each gets a 5-frame silence tail to each receiver that heard it (3 + 3 + 1 receivers).
    steps.push({ stallUntilSilence: 5 * (3 + 3 + 1) });
    talk(12);
    // A closing silence frame from speaker 0, passed through like any other frame.
    steps.push({
      burst: [[ps[0], rtp(ps[0], ts[0].ssrc, speakers[0].seq, speakers[0].ts, Uint8Array.from(OPUS_SILENCE_FRAME))]],
    });
    return steps;
  };

  const play = async (io: IoPath, script: (ts: UdpTransport[]) => Step[]): Promise<Run> => {
    for (const p of ps) p.received.length = 0;
    const { sfu, ts } = await setUp(io);
    let total = 0;
    for (const step of script(ts)) {
      if ('burst' in step) {
        burst(step.burst, sfu);
        total += step.burst.length;
        await handled(sfu, total);
      } else {
        const want = step.stallUntilSilence;
        await waitFor(() => sfu.metrics.counts.silenceSynthesized >= want, 10_000, 'silence tails');
      }
    }
    expect(datagramsIn(sfu)).toBe(total);
    // Everything sent has arrived: each peer's copies plus its one IP discovery answer.
    await waitFor(() => ts.every((t, i) => ps[i].received.length >= t.packetsSent + 1), 10_000, 'every copy to arrive');
    const run: Run = {
      byReceiver: ps.map((p) => {
        const streams = new Map<string, string[]>();
        for (const m of p.received) {
          const key = m.length === 74 && m[1] === 2 ? 'discovery' : m.readUInt32BE(8).toString(16);
          streams.set(key, [...(streams.get(key) ?? []), m.toString('hex')]);
        }
        return streams;
      }),
      dropped: { ...sfu.metrics.counts.dropped } as Record<string, number>,
      datagrams: { ...sfu.metrics.counts.datagrams },
      silence: sfu.metrics.counts.silenceSynthesized,
    };
    await sfu.close();
    return run;
  };

  it('gives byte-identical output per receiver and stream, with the same drops', async () => {
    let steps: Step[] | null = null;
    const once = (ts: UdpTransport[]) => (steps ??= record(ts));
    const batched = await play('batched', once);
    const dgram = await play('dgram', once);
    expect(batched.silence).toBe(35);
    expect(batched.dropped).toMatchObject({ malformed: expect.any(Number), replay: 5, unknown_ssrc: 5, not_opus: 8 });
    expect(dgram.dropped).toEqual(batched.dropped);
    expect(dgram.datagrams).toEqual(batched.datagrams);
    for (let r = 0; r < ps.length; r++) {
      expect([...dgram.byReceiver[r].keys()].sort()).toEqual([...batched.byReceiver[r].keys()].sort());
      for (const [stream, packets] of batched.byReceiver[r]) expect(dgram.byReceiver[r].get(stream)).toEqual(packets);
    }
    // Channel A's listeners heard both speakers (52 frames + 5 silence each, 53 for speaker 0); B's one listener 57.
    expect(batched.byReceiver[2].size).toBe(3);
    expect(batched.byReceiver[5].size).toBe(2);
    expect([...batched.byReceiver[5].values()].map((v) => v.length).sort()).toEqual([1, 57]);
  });
});
