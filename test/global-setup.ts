import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTls } from '../common/tls.ts';

/**
 * Runs once before the test workers fork: makes the development certificate and exports NODE_EXTRA_CA_CERTS so the
 * real @discordjs/voice clients in the workers verify our wss:// listener instead of skipping TLS checks.
 */
export default async function setup(): Promise<() => void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-test-'));
  const tls = await loadTls({ dataDir });
  process.env.RESOUND_TEST_DATA_DIR = dataDir;
  process.env.NODE_EXTRA_CA_CERTS = tls.certPath;
  process.env.LOG_LEVEL ??= 'warn';
  return () => fs.rmSync(dataDir, { recursive: true, force: true });
}
