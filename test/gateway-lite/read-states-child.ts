/**
 * Child process for the kill -9 test: applies read-state changes forever (seeded), printing one JSON line per change
 * once it is applied, and one line per completed interval flush naming the last change that flush covered.
 * Usage: node --import tsx read-states-child.ts <dataDir> <flushIntervalMs>
 */
import { createRng } from '../../common/rng.ts';
import { ReadStates } from '../../gateway-lite/read-states/index.ts';
import { SqliteStorage } from '../../gateway-lite/storage/sqlite.ts';

const [dataDir, intervalArg] = process.argv.slice(2);
const storage = await SqliteStorage.open({ kind: 'sqlite', dataDir, synchronous: 'full' });
const states = new ReadStates({ store: storage, flushIntervalMs: Number(intervalArg) });
const rng = createRng(0x4ead);
let seq = 0;
const covered: number[] = [];
states.on('flushing', () => covered.push(seq));
states.on('flushed', ({ reason }) => {
  if (reason !== 'eviction') process.stdout.write(JSON.stringify({ durableUpTo: covered.shift() }) + '\n');
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
while (true) {
  const user = String(1 + Math.floor(rng() * 5));
  const channel = String(100 + Math.floor(rng() * 20));
  const next = seq + 1;
  // Message ids grow with seq, so a stored value tells which change it came from.
  await states.ack(user, channel, String(1_000_000 + next), next % 7);
  seq = next;
  process.stdout.write(JSON.stringify({ seq, user, channel, msg: String(1_000_000 + next) }) + '\n');
  await new Promise((resolve) => setTimeout(resolve, 2));
}
