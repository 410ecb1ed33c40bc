import type { SignedProposal } from './external-sender.ts';

/** One external proposal the server issued for the current epoch, and who received it. */
export interface InFlight {
  ref: Buffer;
  message: Buffer;
  kind: 'add' | 'remove';
  /** Add: the joining user; Remove: the user whose leaf goes. */
  userId: string;
  /** Remove: the leaf removed. */
  leaf: number;
  /** Add: the raw key package (its KeyPackageRef must appear in the Welcome). */
  keyPackage: Buffer | null;
  recipients: Set<string>;
  revoked: boolean;
}

const RETIRED_CAP = 8192;

/**
 * Proposals of the current epoch (or of the current epoch-0 round while no group is established), plus a bounded
 * memory of refs the server issued earlier. A commit citing a retired or revoked ref lost a race and is dropped
 * quietly; a ref the server never issued is a protocol violation.
 */
export class ProposalLedger {
  private readonly current = new Map<string, InFlight>();
  private readonly retired = new Set<string>();

  add(p: SignedProposal, kind: InFlight['kind'], userId: string, leaf: number, keyPackage: Buffer | null): InFlight {
    const entry: InFlight = {
      ref: p.ref,
      message: p.message,
      kind,
      userId,
      leaf,
      keyPackage,
      recipients: new Set(),
      revoked: false,
    };
    this.current.set(p.ref.toString('hex'), entry);
    return entry;
  }

  get(ref: Buffer): InFlight | undefined {
    return this.current.get(ref.toString('hex'));
  }

  isRetired(ref: Buffer): boolean {
    return this.retired.has(ref.toString('hex'));
  }

  /** Live (unrevoked) entries. */
  live(): InFlight[] {
    return [...this.current.values()].filter((e) => !e.revoked);
  }

  addFor(userId: string): InFlight | undefined {
    return this.live().find((e) => e.kind === 'add' && e.userId === userId);
  }

  /** Revokes every live proposal of the round; returns, per recipient, the refs it must be told about. */
  revokeAll(): Map<string, Buffer[]> {
    const out = new Map<string, Buffer[]>();
    for (const e of this.live()) {
      e.revoked = true;
      for (const r of e.recipients) {
        const refs = out.get(r) ?? [];
        refs.push(e.ref);
        out.set(r, refs);
      }
    }
    return out;
  }

  /** The epoch moved on: every current proposal becomes history. */
  retireAll(): void {
    if (this.retired.size + this.current.size > RETIRED_CAP) this.retired.clear();
    for (const key of this.current.keys()) this.retired.add(key);
    this.current.clear();
  }

  /**
   * True while the user holds unrevoked proposals of this round. A client that already answered one op 27 with a
   * commit must not get a second batch in the same epoch: it would re-commit, and if its first commit wins the
   * leftover proposals stay in its store and poison its next commit (openmls DuplicateSignatureKey).
   */
  holdsLive(userId: string): boolean {
    for (const e of this.current.values()) if (!e.revoked && e.recipients.has(userId)) return true;
    return false;
  }

  /** `userId` lost its MLS state: it no longer holds any current proposal; returns the refs it held. */
  takeRecipient(userId: string): string[] {
    const held: string[] = [];
    for (const [key, e] of this.current) if (e.recipients.delete(userId)) held.push(key);
    return held;
  }

  dropRecipient(userId: string): void {
    for (const e of this.current.values()) e.recipients.delete(userId);
  }
}
