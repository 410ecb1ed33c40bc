import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A server secret from config, or on a laptop one generated once into the data folder so tokens and signed URLs
 * survive restarts without any setup.
 */
export function secretFromConfigOrDataDir(value: string | undefined, dataDir: string, name: string): string {
  if (value) return value;
  const file = path.join(dataDir, 'secrets', name);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    try {
      fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
      return secret;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process won the race: use its secret
    }
  }
}
