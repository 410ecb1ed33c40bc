import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.ts';

/** Shortest secret any part accepts (bearer tokens, HMAC keys); generated ones are 43 characters. */
export const MIN_SECRET_LENGTH = 16;

/** A secret that would weaken authentication (empty, short); start-up stops with this instead of running open. */
export class SecretError extends ConfigError {
  constructor(issue: string) {
    super([issue]);
    this.name = 'SecretError';
  }
}

/** Equal-length-independent constant-time string comparison (tokens, bearer values). */
export function safeEqual(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  // Comparing against itself keeps the work independent of where (or whether) the lengths differ.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}

/** True when `header` is exactly `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return safeEqual(header.slice(7), token);
}

function check(secret: string, source: string, variable: string, fix: string): string {
  if (secret.length >= MIN_SECRET_LENGTH) return secret;
  const what = secret.length === 0 ? 'is empty' : `has only ${secret.length} characters`;
  throw new SecretError(
    `${variable}: the secret from ${source} ${what}; at least ${MIN_SECRET_LENGTH} are required. ${fix}`,
  );
}

/**
 * A server secret from config, or on a laptop one generated once into the data folder so tokens and signed URLs
 * survive restarts without any setup. An empty or short secret from either source stops start-up: an empty admin
 * token would let an empty bearer in, an empty HMAC key would let anyone forge tokens.
 */
export function secretFromConfigOrDataDir(
  value: string | undefined,
  dataDir: string,
  name: string,
  variable: string = name,
): string {
  const fixEnv = `Set ${variable} to a random value (e.g. \`openssl rand -base64 32\`).`;
  if (value !== undefined) return check(value, `the environment`, variable, fixEnv);
  const file = path.join(dataDir, 'secrets', name);
  const fixFile = `Delete ${file} to have a strong one generated, or set ${variable} (e.g. \`openssl rand -base64 32\`).`;
  let existing: string | undefined;
  try {
    existing = fs.readFileSync(file, 'utf8').trim();
  } catch {
    existing = undefined;
  }
  if (existing !== undefined) return check(existing, `file ${file}`, variable, fixFile);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  // Written whole under a temporary name and linked into place, so a concurrent reader never sees an empty file.
  const tmp = `${file}.${process.pid}.${Date.now()}`;
  fs.writeFileSync(tmp, secret, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return secret;
  } catch {
    return check(fs.readFileSync(file, 'utf8').trim(), `file ${file}`, variable, fixFile); // another process won
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
