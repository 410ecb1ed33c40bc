import { describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import { SimNet, userId } from '../../testkit/index.ts';

/** Bad input from one client closes that client with a stable code and never reaches the others. */
describe('DaveGroup rejects bad client input', () => {
  it('a malformed key package closes the sender with 4002; the others form their group', () => {
    const net = new SimNet();
    const a = net.join(userId());
    const m = net.join(userId());
    m.rewriteUp = (msg) => (msg.kind === 'kp' ? { ...msg, payload: msg.payload.subarray(0, 100) } : msg);
    // m's key package was already queued before the rewrite hook: replace it in the queue too.
    for (const item of net.queue)
      if (item.dir === 'up' && item.msg.kind === 'kp' && item.msg.from === m.userId)
        item.msg.payload = item.msg.payload.subarray(0, 100);
    const b = net.join(userId());
    net.pump();
    expect(m.closedWith).toBe(4002);
    expect(net.metrics.rejections).toEqual(['kp_malformed']);
    expect(a.epoch).toBe(1n);
    expect(b.code).toBe(a.code);
    // Nothing from m's key package was relayed: every op 27 went to a or b and carried no proposal for m.
    expect(net.log.filter((o) => o.to === m.userId && o.kind === 'binary' && o.op === 27)).toEqual([]);
    expect(net.crashes()).toEqual([]);
  });

  it('a key package whose credential names another user closes with 4020', () => {
    const net = new SimNet();
    const a = net.join(userId());
    const liar = net.join(userId());
    const foreign = new Davey.DAVESession(1, a.userId, net.channelId).getSerializedKeyPackage();
    for (const item of net.queue)
      if (item.dir === 'up' && item.msg.kind === 'kp' && item.msg.from === liar.userId) item.msg.payload = foreign;
    net.pump();
    expect(liar.closedWith).toBe(4020);
    expect(net.metrics.rejections).toEqual(['kp_bad_credential']);
    expect(net.crashes()).toEqual([]);
  });

  it('a malformed commit closes the committer with 4002 and a commit citing unknown proposals with 4020', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const c = net.join(userId());
    // a answers Add(c) with garbage, b with a commit whose proposal ref was never issued.
    a.rewriteUp = (msg) =>
      msg.kind === 'commit'
        ? { ...msg, payload: Buffer.concat([msg.payload.subarray(0, 40), Buffer.from([0xc0])]) }
        : msg;
    b.rewriteUp = (msg) => {
      if (msg.kind !== 'commit') return msg;
      const p = Buffer.from(msg.payload);
      const ref = p.indexOf(Buffer.from([0x02, 0x20])); // ProposalOrRef(reference) + 32-byte ref
      p[ref + 2] ^= 0xff;
      return { ...msg, payload: p };
    };
    net.pump();
    expect(a.closedWith).toBe(4002);
    expect(b.closedWith).toBe(4020);
    expect(net.metrics.rejections.sort()).toEqual(['commit_malformed', 'commit_unknown_proposal']);
    // Neither bad commit was relayed: no op 29/30 carried them; c is alone and pending again, not crashed.
    expect(net.log.filter((o) => o.kind === 'binary' && (o.op === 29 || o.op === 30) && o.to === c.userId)).toEqual([]);
    expect(net.group.mediaRole(c.userId)).toBe('pending');
    expect(net.crashes()).toEqual([]);
    const d = net.join(userId());
    net.pump();
    expect(c.epoch).toBe(d.epoch);
    expect(c.code).toBe(d.code);
    expect(c.code).not.toBe('');
  });

  it("a commit signed as someone else's leaf closes with 4020", () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    net.join(userId());
    const leafOfB = b.session!.ownLeafIndex!;
    a.rewriteUp = (msg) => {
      if (msg.kind !== 'commit') return msg;
      const p = Buffer.from(msg.payload);
      // u16 version, u16 wire format, group_id<V> (1 + 8), u64 epoch, u8 sender type, then u32 leaf index.
      p.writeUInt32BE(leafOfB, 4 + 9 + 8 + 1);
      return { ...msg, payload: p };
    };
    b.rewriteUp = () => null; // b stays silent so a's forged commit is the only one
    net.pump();
    expect(a.closedWith).toBe(4020);
    expect(net.metrics.rejections).toContain('commit_wrong_sender');
    expect(net.crashes()).toEqual([]);
  });

  it('a client flooding key packages is closed with 4020 before it can keep the channel re-committing', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const f = net.join(userId());
    net.pump();
    for (let i = 0; i < 12 && f.closedWith === null; i++) {
      f.session!.reinit(1, f.userId, net.channelId);
      net.group.keyPackage(f.userId, f.session!.getSerializedKeyPackage());
      net.pump();
    }
    expect(f.closedWith).toBe(4020);
    expect(net.metrics.rejections).toEqual(['kp_flood']);
    // Re-initialisations the server asks for (op 24: sole-member resets, upgrades) never count.
    for (let i = 0; i < 12; i++) {
      net.leave(b.userId);
      net.pump();
      const again = net.join(b.userId);
      net.pump();
      expect(again.closedWith).toBeNull();
    }
    expect(a.closedWith).toBeNull();
    expect(net.metrics.rejections).toEqual(['kp_flood']);
    expect(a.code).toBe(net.clients.get(b.userId)!.code);
    expect(net.crashes()).toEqual([]);
  });
});
