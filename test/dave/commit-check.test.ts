import { describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import { applyMembership, checkCommit, type CommitContext } from '../../signaling/dave/commit-check.ts';
import { ExternalSender, appendPayload, groupIdFor } from '../../signaling/dave/external-sender.ts';
import { ProposalLedger, type InFlight } from '../../signaling/dave/ledger.ts';
import { parseCommitWelcome, parseKeyPackage, validateKeyPackage } from '../../signaling/dave/mls-codec.ts';
import { TlsWriter } from '../../signaling/dave/tls-codec.ts';
import { SimNet, userId } from '../../testkit/index.ts';

const CHANNEL = '2222222222222222222';

/** A's commit adding B at epoch 0, with the ledger entry the server would hold for Add(B). */
function fixture() {
  const sender = new ExternalSender();
  const a = new Davey.DAVESession(1, '111', CHANNEL);
  const b = new Davey.DAVESession(1, '222', CHANNEL);
  a.setExternalSender(sender.op25Payload);
  const kpB = b.getSerializedKeyPackage();
  const add = sender.propose(groupIdFor(CHANNEL), 0n, { type: 'add', keyPackage: kpB });
  const { commit, welcome } = a.processProposals(
    Davey.ProposalsOperationType.APPEND,
    appendPayload([add.message]).subarray(1),
    ['222'],
  );
  const ledger = new ProposalLedger();
  const entry = ledger.add(add, 'add', '222', -1, kpB);
  entry.recipients.add('111');
  const identity = Buffer.alloc(8);
  identity.writeBigUInt64BE(111n);
  const ctx: CommitContext = {
    groupId: groupIdFor(CHANNEL),
    epoch: 0n,
    maxEpoch: 0n,
    busy: false,
    committer: '111',
    expectedLeaf: 0,
    committerIdentity: identity,
    committerSignatureKey: null,
    ledger,
  };
  return { commit: commit!, welcome: welcome!, ctx, entry, ledger, sender };
}

/** A hand-built commit message (davey never makes these): optional path leaf with the given identity. */
function craftedCommit(refs: Buffer[], pathIdentity?: Buffer): Buffer {
  const w = new TlsWriter().u16(1).u16(1).vec(groupIdFor(CHANNEL)).u64(0n).u8(1).u32(0).vec(Buffer.alloc(0)).u8(3);
  const props = new TlsWriter();
  for (const r of refs) props.u8(2).vec(r);
  w.vec(props.finish());
  if (pathIdentity) {
    w.u8(1).vec(Buffer.alloc(65, 4)).vec(Buffer.alloc(65, 4)).u16(1).vec(pathIdentity);
    for (let i = 0; i < 5; i++) w.vec(Buffer.alloc(0));
    w.u8(3).vec(Buffer.alloc(32)).vec(Buffer.alloc(0)).vec(Buffer.alloc(70)).vec(Buffer.alloc(0));
  } else {
    w.u8(0);
  }
  return w.vec(Buffer.alloc(70)).vec(Buffer.alloc(32)).vec(Buffer.alloc(32)).finish();
}

describe('checkCommit', () => {
  it('accepts a davey commit citing the proposal the committer received', () => {
    const { commit, welcome, ctx } = fixture();
    const v = checkCommit(parseCommitWelcome(Buffer.concat([commit, welcome])), ctx);
    expect(v.kind).toBe('accept');
  });

  it.each([
    ['commit_wrong_group', (ctx: CommitContext) => void (ctx.groupId = groupIdFor('1'))],
    ['commit_wrong_sender', (ctx: CommitContext) => void (ctx.expectedLeaf = 1)],
    ['commit_unknown_proposal', (ctx: CommitContext) => void (ctx.ledger = new ProposalLedger())],
    ['commit_not_sent_to_committer', (ctx: CommitContext) => void ctx.ledger.live()[0].recipients.clear()],
  ])('rejects %s', (reason, mutate) => {
    const { commit, welcome, ctx } = fixture();
    mutate(ctx);
    const v = checkCommit(parseCommitWelcome(Buffer.concat([commit, welcome])), ctx);
    expect(v).toMatchObject({ kind: 'reject', reason });
  });

  it('rejects a future epoch, an empty commit, a changed credential and a Welcome mismatch', () => {
    const { commit, welcome, ctx, entry } = fixture();
    const future = Buffer.from(commit);
    future.writeBigUInt64BE(5n, 4 + 9);
    expect(checkCommit(parseCommitWelcome(future), ctx)).toMatchObject({
      kind: 'reject',
      reason: 'commit_future_epoch',
    });
    expect(checkCommit(parseCommitWelcome(craftedCommit([])), ctx)).toMatchObject({
      kind: 'reject',
      reason: 'commit_empty',
    });
    const other = Buffer.alloc(8);
    other.writeBigUInt64BE(999n);
    expect(checkCommit(parseCommitWelcome(craftedCommit([entry.ref], other)), ctx)).toMatchObject({
      kind: 'reject',
      reason: 'commit_credential_changed',
    });
    expect(checkCommit(parseCommitWelcome(commit), ctx)).toMatchObject({
      kind: 'reject',
      reason: 'commit_welcome_mismatch',
    });
    void welcome;
  });

  it('treats lost races as stale, not as violations', () => {
    const { commit, welcome, ctx, ledger } = fixture();
    const parsed = parseCommitWelcome(Buffer.concat([commit, welcome]));
    expect(checkCommit(parsed, { ...ctx, busy: true })).toMatchObject({ kind: 'stale' });
    expect(checkCommit(parsed, { ...ctx, epoch: 1n, maxEpoch: 1n })).toMatchObject({ kind: 'stale' });
    ledger.revokeAll();
    expect(checkCommit(parsed, ctx)).toMatchObject({ kind: 'stale' });
    ledger.retireAll();
    expect(checkCommit(parsed, ctx)).toMatchObject({ kind: 'stale' });
  });

  it('applies Removes before Adds, reusing the leftmost blank leaf and trimming trailing blanks', () => {
    const mk = (kind: 'add' | 'remove', userId: string, leaf = -1): InFlight => ({
      ref: Buffer.alloc(32),
      message: Buffer.alloc(0),
      kind,
      userId,
      leaf,
      keyPackage: null,
      recipients: new Set(),
      revoked: false,
    });
    const leaves: (string | null)[] = ['a', 'b', 'c', 'd'];
    applyMembership(leaves, [mk('remove', 'b', 1), mk('remove', 'd', 3)], []);
    expect(leaves).toEqual(['a', null, 'c']);
    const placed = applyMembership(leaves, [], [mk('add', 'e'), mk('add', 'f')]);
    expect(leaves).toEqual(['a', 'e', 'c', 'f']);
    expect([...placed]).toEqual([
      ['e', 1],
      ['f', 3],
    ]);
  });
});

describe('key package rejections', () => {
  it('an expired lifetime is refused', () => {
    const raw = Buffer.from(new Davey.DAVESession(1, '222', CHANNEL).getSerializedKeyPackage());
    const kp = parseKeyPackage(raw);
    const lifetime = Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.alloc(8, 0xff)]);
    const at = raw.indexOf(lifetime);
    expect(kp.leafNode.lifetime).toBeDefined();
    expect(at).toBeGreaterThan(0);
    raw.writeBigUInt64BE(1n, at + 9); // not_after = 1970-01-01T00:00:01
    expect(validateKeyPackage(parseKeyPackage(raw), 222n, 1000n)).toBe('expired');
  });

  it('a bad signature closes with 4020 and a key package from a client without DAVE too', () => {
    const net = new SimNet();
    const a = net.join(userId());
    const z = net.join(userId(), false);
    net.pump();
    const raw = Buffer.from(a.session!.getSerializedKeyPackage());
    raw[raw.length - 5] ^= 1; // inside the key package signature
    net.group.keyPackage(a.userId, raw);
    net.group.keyPackage(z.userId, a.session!.getSerializedKeyPackage());
    net.pump();
    expect(a.closedWith).toBe(4020);
    expect(z.closedWith).toBe(4020);
    expect(net.metrics.rejections.sort()).toEqual(['kp_bad_signature', 'kp_without_dave']);
  });
});
