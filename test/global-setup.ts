import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTls } from '../common/tls.ts';
import { preflight } from './preflight.ts';

/**
 * Runs once before the test workers fork. First the machine check (test/preflight.ts): missing system tools are
 * installed when we can (root with apt-get) or the run stops here with the one command to run. Then the development
 * certificate, exported as NODE_EXTRA_CA_CERTS so the real @discordjs/voice clients in the workers verify our wss://
 * listener instead of skipping TLS checks.
 */
export default async function setup(): Promise<() => void> {
  const checked = await preflight({
    searchPath: process.env.PATH ?? '',
    isRoot: process.getuid?.() === 0,
    redisUrl: process.env.REDIS_URL || undefined,
  });
  if (!checked.ok) {
    // Only the sentence, and stop here: a stack trace or a "no tests ran" report would bury the one line needed.
    process.stderr.write(`${checked.message}\n`);
    process.exit(1);
  }
  if (checked.installed.length) console.log(`test set-up: installed ${checked.installed.join(', ')}`);
  if (checked.redis)
    console.log('test set-up: nothing answered redis://127.0.0.1:6379; started a throw-away redis-server');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-test-'));
  const tls = await loadTls({ dataDir });
  process.env.RESOUND_TEST_DATA_DIR = dataDir;
  process.env.NODE_EXTRA_CA_CERTS = tls.certPath;
  process.env.LOG_LEVEL ??= 'warn';
  return () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    checked.redis?.kill('SIGTERM');
  };
}
