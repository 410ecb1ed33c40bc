import { describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import { createRng } from '../../common/rng.ts';
import { SimNet, userId, type SimClient } from '../../testkit/index.ts';

/** Deterministic so a failing seed can be replayed. */
const mulberry32 = createRng;

/**
 * Joins, leaves and client re-initialisations interleaved with partial message delivery: whatever the order, no
 * client throws, no legitimate client is rejected, and once the queue drains everyone shares one group.
 */
describe('DaveGroup under churn', () => {
  it.each(Array.from({ length: 16 }, (_, i) => i + 1))('seed %i converges with no crash and no rejection', (seed) => {
    const rnd = mulberry32(seed);
    const net = new SimNet();
    const live = (): SimClient[] => [...net.clients.values()];
    for (let step = 0; step < 40; step++) {
      const r = rnd();
      if (r < 0.35 && net.clients.size < 7) net.join(userId());
      else if (r < 0.5 && net.clients.size > 0) net.leave(live()[Math.floor(rnd() * net.clients.size)].userId);
      else if (r < 0.6 && net.clients.size > 0) {
        // A client gives up on its state (too many decryption failures), as @discordjs/voice does: op 31, re-init,
        // new key package. Only while nothing is in flight to it, and the server hears it at once: a proposal already
        // on the wire when a client re-initialises crashes it whatever the server does (see README, Limits).
        const c = live()[Math.floor(rnd() * net.clients.size)];
        if (
          c.session &&
          !net.queue.some(
            (q) => (q.dir === 'down' && q.out.to === c.userId) || (q.dir === 'up' && q.msg.from === c.userId),
          )
        ) {
          c.up({ kind: 'invalid', from: c.userId, transitionId: 0 });
          c.session.reinit(1, c.userId, net.channelId);
          c.up({ kind: 'kp', from: c.userId, payload: c.session.getSerializedKeyPackage() });
          for (const q of net.queue.splice(-2)) net.step(q);
        }
      }
      const deliver = Math.floor(rnd() * 12);
      for (let i = 0; i < deliver && net.queue.length > 0; i++) net.step(net.queue.shift()!);
    }
    net.pump();
    expect(net.crashes()).toEqual([]);
    expect(net.metrics.rejections).toEqual([]);
    const clients = live();
    if (clients.length >= 2) {
      const code = clients[0].code;
      expect(code).not.toBe('');
      for (const c of clients) {
        expect(c.session!.status).toBe(Davey.SessionStatus.ACTIVE);
        expect(c.epoch).toBe(clients[0].epoch);
        expect(c.code).toBe(code);
      }
      expect(clients[0].session!.getUserIds().sort()).toEqual(clients.map((c) => c.userId).sort());
      for (const c of clients) expect(net.group.leafMap[c.session!.ownLeafIndex!]).toBe(c.userId);
    }
    expect(net.group.transitionInProgress).toBeNull();
  });
});
