import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ComposedVoiceFleet } from '../../bin/voice-fleet.ts';
import { InProcessVoiceLink, tokenIdOf } from '../../bin/voice-link.ts';
import { createRedis } from '../../common/redis.ts';
import type { VoiceFleetEvent } from '../../gateway-lite/index.ts';
import { VoicePlacement, VoiceTokenSigner } from '../../signaling/index.ts';
import { dropPrefix, waitFor } from '../../testkit/index.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `resound:test:fleet:${process.pid}:${Date.now().toString(36)}`;
const redis = createRedis(REDIS_URL);

afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

describe('the composed voice fleet (bin/voice-fleet.ts) on Redis placement', () => {
  it('mints tokens for the gateway session, places on live servers only, and reports a crashed server once', async () => {
    // A short lease: a server that stops reporting (a crash announces nothing) is gone within ~300 ms.
    const placement = new VoicePlacement({ redis, prefix, ttlMs: 300 });
    const signer = new VoiceTokenSigner('a-test-secret-of-enough-length');
    const link = new InProcessVoiceLink();
    const fleet = new ComposedVoiceFleet({
      signer,
      tokenTtlMs: 60_000,
      placement,
      endpoint: () => null,
      link,
      logger: pino({ level: 'silent' }),
      pollMs: 50,
    });
    const events: VoiceFleetEvent[] = [];
    fleet.subscribe((e) => events.push(e));
    try {
      const req = {
        guildId: '81384788765712384',
        channelId: '81384788765712385',
        userId: '1',
        sessionId: 'gw-session',
      };
      expect((await fleet.join(req)).endpoint).toBeNull(); // no live voice server, none in this process

      await placement.report({ endpoint: '127.0.0.1:1', sessions: 0, channels: 0 });
      const ticket = await fleet.join(req);
      expect(ticket.endpoint).toBe('127.0.0.1:1');
      const verdict = signer.verify(ticket.token);
      expect(verdict.ok && verdict.claims).toMatchObject({ sessionId: 'gw-session', channelId: req.channelId });
      expect(ticket.tokenId).toBe(tokenIdOf(ticket.token));
      expect((await fleet.join(req)).token).not.toBe(ticket.token); // every join gets its own single-use token

      // Stop reporting: the lease expires, the poll notices; a late announcement on the link is not repeated.
      await waitFor(() => events.length > 0, 5000, 'server-gone from the lease expiry');
      await link.publishEvent({ kind: 'server-gone', endpoint: '127.0.0.1:1' });
      await new Promise((r) => setTimeout(r, 200));
      expect(events).toEqual([{ kind: 'server-gone', endpoint: '127.0.0.1:1' }]);
      expect((await fleet.join(req)).endpoint).toBeNull();
    } finally {
      await fleet.close();
      await link.close();
    }
  });
});
