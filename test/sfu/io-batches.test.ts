/**
 * Batch edge cases, on both datagram I/O paths: one receive batch holding every kind of datagram; a full receive
 * batch followed by a trickle; one send batch in which some destinations refuse their copy (counted for those
 * receivers only, the others get theirs).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/index.ts';
import { RECEIVE_BATCH } from '../../sfu/udp/batched-io.ts';
import type { IoPath, Sfu, UdpTransport } from '../../sfu/index.ts';
import {
  burst,
  closePeers,
  datagramsIn,
  discovery,
  handled,
  join,
  metric,
  peers,
  rtp,
  startSfu,
  type Peer,
} from './io-harness.ts';

const PATHS: IoPath[] = ['batched', 'dgram'];

describe.each(PATHS)('%s I/O batches', (io) => {
  let sfu: Sfu;
  let ps: Peer[];
  let ts: UdpTransport[];
  let seq = 100;
  const receiveCalls = () => metric(sfu, 'resound_sfu_io_receive_calls_total');
  const copies = (p: Peer) => p.received.filter((m) => m.length !== 74);

  beforeEach(async () => {
    sfu = await startSfu(io);
    ps = await peers(3);
    ts = join(sfu.createRouter('r'), ps, 300);
    burst(
      ps.map((p, i) => [p, discovery(ts[i].ssrc)]),
      sfu,
    );
    await waitFor(() => ps.every((p) => p.received.length === 1), 5000, 'IP discovery answers');
    expect(await metric(sfu, 'resound_sfu_io', { path: io })).toBe(1);
  });
  afterEach(async () => {
    await sfu.close();
    closePeers(ps);
  });

  const speak = () => rtp(ps[0], ts[0].ssrc, seq++, seq * 960, randomBytes(60));

  it('handles one batch mixing every datagram kind, each counted as on its own', async () => {
    const good = speak();
    const spoof = Buffer.from(good);
    spoof[spoof.length - 6] ^= 0xff; // a bad tag on the sender's SSRC, from another address
    const calls = await receiveCalls();
    const before = datagramsIn(sfu);
    const items: [Peer, Buffer][] = [
      [ps[0], Buffer.alloc(8)], // keepalive
      [ps[0], discovery(ts[0].ssrc)], // IP discovery from the bound address: answered again
      [ps[0], good],
      [ps[0], good], // replay
      [ps[1], spoof],
      [ps[0], Buffer.from([0x80, 0xc8, 0, 6, ...randomBytes(24)])], // RTCP sender report
      [ps[0], Buffer.from([0x13, ...randomBytes(32)])], // garbage (RTP version 0)
      [ps[0], rtp(ps[0], 0x0badf00d, 1, 960, randomBytes(20))], // unknown SSRC
      [ps[0], Buffer.alloc(3000, 0x80)], // oversized
    ];
    burst(items, sfu);
    await handled(sfu, before + items.length);
    // Batched: the whole burst was one receive call (it was all queued before the SFU's next poll).
    expect((await receiveCalls()) - calls).toBe(io === 'batched' ? 1 : items.length);
    expect(sfu.metrics.counts.dropped).toEqual({
      replay: 1,
      ssrc_spoof: 1,
      not_opus: 1,
      malformed: 2,
      unknown_ssrc: 1,
    });
    await waitFor(() => copies(ps[1]).length === 1 && copies(ps[2]).length === 1, 5000, 'the one good frame');
    await waitFor(() => ps[0].received.length === 2, 5000, 'the second discovery answer');
  });

  it('drains a full receive batch, then a trickle, in order', async () => {
    const calls = await receiveCalls();
    const n = RECEIVE_BATCH + 6;
    burst(
      Array.from({ length: n }, () => [ps[0], speak()] as [Peer, Buffer]),
      sfu,
    );
    await waitFor(() => copies(ps[1]).length === n, 10_000, 'the full batch forwarded');
    if (io === 'batched') expect((await receiveCalls()) - calls).toBe(2);
    for (let i = 0; i < 3; i++) {
      const c = await receiveCalls();
      burst([[ps[0], speak()]], sfu);
      await waitFor(() => copies(ps[1]).length === n + i + 1, 5000, 'a trickled frame');
      expect((await receiveCalls()) - c).toBe(1);
    }
    for (const p of [ps[1], ps[2]]) {
      const seqs = copies(p).map((m) => m.readUInt16BE(2));
      expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] + i) & 0xffff));
    }
  });

  it('charges a refused copy to its receiver only; the rest of the send batch goes out', async () => {
    // Two more receivers whose address the kernel refuses (broadcast without SO_BROADCAST: EACCES).
    const router = sfu.createRouter('r2');
    // Sender, receiver, refused receiver, receiver, refused receiver: failures fall mid-batch and at its end.
    const [sender, okA, bad1, okB, bad2] = join(router, [ps[0], ps[1], ps[1], ps[2], ps[2]], 400);
    sender.remote = { address: '127.0.0.1', port: ps[0].port };
    okA.remote = { address: '127.0.0.1', port: ps[1].port };
    okB.remote = { address: '127.0.0.1', port: ps[2].port };
    for (const t of [bad1, bad2]) t.remote = { address: '255.255.255.255', port: 9 };
    const before = { a: copies(ps[1]).length, b: copies(ps[2]).length };
    let s = 7;
    burst(
      [0, 1, 2].map(() => [ps[0], rtp(ps[0], sender.ssrc, s++, s * 960, randomBytes(50))] as [Peer, Buffer]),
      sfu,
    );
    await waitFor(() => (sfu.metrics.counts.dropped.send_failed ?? 0) === 6, 5000, 'six refused copies');
    await waitFor(
      () => copies(ps[1]).length === before.a + 3 && copies(ps[2]).length === before.b + 3,
      5000,
      'the good copies',
    );
    expect([bad1.sendFailures, bad2.sendFailures, okA.sendFailures, okB.sendFailures]).toEqual([3, 3, 0, 0]);
    expect([bad1.packetsSent, bad2.packetsSent, okA.packetsSent, okB.packetsSent]).toEqual([0, 0, 3, 3]);
    expect(sfu.metrics.counts.forwarded).toBe(6);
    expect(await metric(sfu, 'resound_sfu_dropped_total', { reason: 'send_failed' })).toBe(6);
  });
});
