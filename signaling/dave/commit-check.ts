import { keyPackageRef, parseWelcome, type ParsedCommit } from './mls-codec.ts';
import type { InFlight, ProposalLedger } from './ledger.ts';
import type { DaveRejection } from './types.ts';

export interface CommitContext {
  groupId: Buffer;
  /** Epoch proposals are currently issued for (0 while no group is established). */
  epoch: bigint;
  /** Highest epoch this channel has ever reached; commits at or below it that do not match `epoch` are stale. */
  maxEpoch: bigint;
  /** True while a transition is collecting op 23: no new commit can be valid then. */
  busy: boolean;
  committer: string;
  /** Leaf the committer must sign as: its leaf in the group, or 0 when it creates the group. */
  expectedLeaf: number | null;
  /** Committer's user id as the 8-byte credential identity and its known signature key, when known. */
  committerIdentity: Buffer;
  committerSignatureKey: Buffer | null;
  ledger: ProposalLedger;
}

export type CommitVerdict =
  | { kind: 'accept'; adds: InFlight[]; removes: InFlight[] }
  | { kind: 'stale'; why: string }
  | { kind: 'reject'; reason: DaveRejection; detail: string };

const reject = (reason: DaveRejection, detail: string): CommitVerdict => ({ kind: 'reject', reason, detail });

/**
 * Decides one op 28: the first valid commit of an epoch wins, a commit that lost a race (older epoch, revoked or
 * retired proposals) is dropped without blame, and anything the server could never have caused is rejected.
 */
export function checkCommit(c: ParsedCommit, ctx: CommitContext): CommitVerdict {
  if (!c.groupId.equals(ctx.groupId)) return reject('commit_wrong_group', 'commit is for another group');
  if (c.epoch !== ctx.epoch || ctx.busy) {
    if (c.epoch <= ctx.maxEpoch)
      return {
        kind: 'stale',
        why: `commit for epoch ${c.epoch}, current ${ctx.epoch}${ctx.busy ? ' (in transition)' : ''}`,
      };
    return reject('commit_future_epoch', `commit for epoch ${c.epoch} beyond ${ctx.maxEpoch}`);
  }
  if (ctx.expectedLeaf === null) return { kind: 'stale', why: 'committer is not in a position to commit' };
  if (c.senderLeaf !== ctx.expectedLeaf)
    return reject(
      'commit_wrong_sender',
      `commit signed as leaf ${c.senderLeaf}, committer is leaf ${ctx.expectedLeaf}`,
    );
  if (c.proposalRefs.length === 0) return reject('commit_empty', 'commit carries no proposals');
  const adds: InFlight[] = [];
  const removes: InFlight[] = [];
  const seen = new Set<string>();
  for (const ref of c.proposalRefs) {
    const hex = ref.toString('hex');
    if (seen.has(hex)) return reject('commit_unknown_proposal', 'commit cites a proposal twice');
    seen.add(hex);
    const entry = ctx.ledger.get(ref);
    if (!entry) {
      if (ctx.ledger.isRetired(ref)) return { kind: 'stale', why: 'commit cites a proposal of an earlier round' };
      return reject('commit_unknown_proposal', `commit cites proposal ${hex.slice(0, 16)}… the server never issued`);
    }
    if (entry.revoked) return { kind: 'stale', why: 'commit cites a revoked proposal' };
    if (!entry.recipients.has(ctx.committer))
      return reject('commit_not_sent_to_committer', 'commit cites a proposal the committer never received');
    if (entry.kind === 'add') {
      if (entry.userId === ctx.committer) return reject('commit_unknown_proposal', 'committer cannot add itself');
      adds.push(entry);
    } else {
      removes.push(entry);
    }
  }
  if (c.pathLeaf) {
    if (!c.pathLeaf.identity.equals(ctx.committerIdentity))
      return reject('commit_credential_changed', 'update path credential is not the committer');
    if (ctx.committerSignatureKey && !c.pathLeaf.signatureKey.equals(ctx.committerSignatureKey)) {
      return reject('commit_credential_changed', 'update path changes the committer signature key');
    }
  }
  if (adds.length > 0) {
    if (!c.welcome) return reject('commit_welcome_mismatch', 'commit adds members but carries no Welcome');
    // parseCommitWelcome already checked the Welcome's structure, so this cannot throw.
    const targets = new Set(parseWelcome(c.welcome).newMembers.map((r) => r.toString('hex')));
    for (const a of adds) {
      if (a.keyPackage && !targets.has(keyPackageRef(a.keyPackage).toString('hex'))) {
        return reject('commit_welcome_mismatch', `Welcome has no secrets for added user ${a.userId}`);
      }
    }
  } else if (c.welcome) {
    return reject('commit_welcome_mismatch', 'commit adds nobody but carries a Welcome');
  }
  return { kind: 'accept', adds, removes };
}

/**
 * RFC 9420 §12.3 applied to a leaf list (user id or null per leaf): Removes blank their leaves and trailing blanks
 * are trimmed; then each Add, in commit order, takes the leftmost blank leaf or extends the list.
 * Returns the leaf each added user got.
 */
export function applyMembership(
  leaves: (string | null)[],
  removes: readonly InFlight[],
  adds: readonly InFlight[],
): Map<string, number> {
  for (const r of removes) if (r.leaf < leaves.length) leaves[r.leaf] = null;
  while (leaves.length > 0 && leaves[leaves.length - 1] === null) leaves.pop();
  const placed = new Map<string, number>();
  for (const a of adds) {
    let idx = leaves.indexOf(null);
    if (idx < 0) {
      idx = leaves.length;
      leaves.push(a.userId);
    } else {
      leaves[idx] = a.userId;
    }
    placed.set(a.userId, idx);
  }
  return placed;
}
