import {
  MlsDecodeError,
  parseCommitWelcome,
  parseKeyPackage,
  validateKeyPackage,
  type KeyPackage,
  type ParsedCommit,
} from './mls-codec.ts';
import type { DaveRejection } from './types.ts';

export type Intake<T> = { ok: true; value: T } | { ok: false; reason: DaveRejection; detail: string };

/** op 26: a raw KeyPackage that must decode, name `userId` in its basic credential, be in its lifetime and verify. */
export function intakeKeyPackage(payload: Uint8Array, userId: string, nowMs: number): Intake<KeyPackage> {
  let kp: KeyPackage;
  try {
    kp = parseKeyPackage(payload);
  } catch (err) {
    if (err instanceof MlsDecodeError) return { ok: false, reason: 'kp_malformed', detail: err.message };
    throw err;
  }
  const problem = validateKeyPackage(kp, BigInt(userId), BigInt(Math.floor(nowMs / 1000)));
  if (problem) return { ok: false, reason: `kp_${problem}`, detail: `key package rejected: ${problem}` };
  return { ok: true, value: kp };
}

/** op 28: a commit MLSMessage and the raw Welcome after it. */
export function intakeCommit(payload: Uint8Array): Intake<ParsedCommit> {
  try {
    return { ok: true, value: parseCommitWelcome(payload) };
  } catch (err) {
    if (err instanceof MlsDecodeError) return { ok: false, reason: 'commit_malformed', detail: err.message };
    throw err;
  }
}

/**
 * Real clients send a key package only when they (re-)initialise. Each one makes the server revoke and re-propose a
 * round at every member, so a client flooding op 26 would keep the whole channel re-committing: cap it.
 */
export class KeyPackageRate {
  private readonly times: number[] = [];

  constructor(
    private readonly max = 8,
    private readonly windowMs = 60_000,
  ) {}

  allow(now: number): boolean {
    while (this.times.length > 0 && now - this.times[0] > this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}
