import { KeyPackageRate } from './intake.ts';
import type { KeyPackage } from './mls-codec.ts';

/**
 * plain: no DAVE (version 0); awaiting_kp: DAVE session, no usable key package yet; pending: key package stored,
 * not in the group; member: holds a leaf of the established group.
 */
export type ClientState = 'plain' | 'awaiting_kp' | 'pending' | 'member';

/** The delivery service's record of one session in a DAVE channel. */
export interface DaveClient {
  userId: string;
  /** The user id as the 8-byte big-endian basic-credential identity. */
  identity: Buffer;
  maxVersion: number;
  /** The client's DAVE wrapper holds a davey session (op 4 said ≥1, or op 24 upgraded it). */
  hasSession: boolean;
  externalSenderSent: boolean;
  state: ClientState;
  keyPackage: KeyPackage | null;
  leaf: number | null;
  /** Received epoch-0 proposals since its last re-init; must re-init before another epoch-0 round. */
  heldRound: boolean;
  joinedAt: number;
  sawE2ee: boolean;
  /** Refs it held before re-initialising, and its earlier signature keys: a commit citing them is stale, not hostile. */
  abandonedRefs: Set<string>;
  oldSignatureKeys: Buffer[];
  kpRate: KeyPackageRate;
  /** The server asked for the next key package (op 4 with DAVE, op 24): it does not count against kpRate. */
  kpSolicited: boolean;
}

export function newClient(userId: string, maxVersion: number, version: number, now: number): DaveClient {
  const identity = Buffer.alloc(8);
  identity.writeBigUInt64BE(BigInt(userId));
  return {
    userId,
    identity,
    maxVersion,
    hasSession: version > 0,
    externalSenderSent: false,
    state: version > 0 ? 'awaiting_kp' : 'plain',
    keyPackage: null,
    leaf: null,
    heldRound: false,
    joinedAt: now,
    sawE2ee: false,
    abandonedRefs: new Set(),
    oldSignatureKeys: [],
    kpRate: new KeyPackageRate(),
    kpSolicited: version > 0,
  };
}

/** The client re-initialised (or must): it starts over as a pending member without a key package. */
export function resetClient(c: DaveClient): void {
  if (c.keyPackage) c.oldSignatureKeys = [c.keyPackage.leafNode.signatureKey, ...c.oldSignatureKeys].slice(0, 4);
  c.state = 'awaiting_kp';
  c.keyPackage = null;
  c.leaf = null;
  c.heldRound = false;
}
