import { describe, it } from 'vitest';
import { expectFixtureHeard, useGateway } from './harness.ts';
import { newId } from '../../testkit/index.ts';

describe('two real @discordjs/voice clients in one channel', () => {
  const t = useGateway();

  it('B receives every Opus frame A sent, byte-identical, decoding to the fixture', async () => {
    const guild = newId();
    const channel = newId();
    const a = await t.join(guild, channel);
    const b = await t.join(guild, channel);
    await expectFixtureHeard(a, b);
  });
});
