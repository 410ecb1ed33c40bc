/**
 * Kernel receive-queue overflow is counted on both I/O paths: a burst far larger than the socket's receive buffer,
 * sent while the SFU (same process) cannot read, loses datagrams in the kernel, and every datagram is then either
 * handled or in `resound_sfu_udp_receive_queue_overflow_total`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IoPath, Sfu } from '../../sfu/index.ts';
import { waitFor } from '../../testkit/index.ts';
import { burst, closePeers, metric, peers, startSfu, type Peer } from './io-harness.ts';

describe.each(['batched', 'dgram'] as IoPath[])('%s I/O receive-queue overflow', (io) => {
  let sfu: Sfu;
  let ps: Peer[];
  afterEach(async () => {
    await sfu.close();
    closePeers(ps);
  });

  it('counts what the kernel dropped, and nothing is unaccounted for', async () => {
    sfu = await startSfu(io);
    ps = await peers(1);
    const n = 20_000;
    // 1,200 bytes of RTP version 0: 'malformed' once read, so the SFU's work per datagram stays small.
    const junk = Buffer.alloc(1200, 0x13);
    burst(
      Array.from({ length: n }, () => [ps[0], junk] as [Peer, Buffer]),
      sfu,
    );
    // Keepalives after the burst until one is handled: everything queued before it was read by then (FIFO).
    let keepalives = 0;
    const keepalive = () => {
      keepalives++;
      burst([[ps[0], Buffer.alloc(8)]], sfu);
    };
    await waitFor(
      () => sfu.metrics.counts.datagrams.keepalive > 0,
      20_000,
      'a keepalive after the burst',
      async () => {
        keepalive();
        await new Promise((r) => setTimeout(r, 100));
      },
    );
    const d = sfu.metrics.counts.datagrams;
    let overflow = 0;
    await waitFor(
      () => d.other + d.keepalive + overflow === n + keepalives,
      10_000,
      'every datagram handled or counted as overflow',
      async () => {
        overflow = await metric(sfu, 'resound_sfu_udp_receive_queue_overflow_total');
      },
    );
    expect(overflow).toBeGreaterThan(0);
    expect(d.other).toBeLessThan(n);
  });
});
