import { describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import { SimNet, userId, type SimClient } from '../../testkit/index.ts';

const OPUS = Buffer.from('fc7f7e11223344556677889900aabbccddeeff0102030405', 'hex');

function expectShared(clients: SimClient[], epoch: bigint): void {
  const code = clients[0].code;
  expect(code).toMatch(/^\d{30}$/);
  for (const c of clients) {
    expect(c.epoch).toBe(epoch);
    expect(c.code).toBe(code);
    expect(c.session!.status).toBe(Davey.SessionStatus.ACTIVE);
    expect(c.session!.getUserIds().sort()).toEqual(clients.map((x) => x.userId).sort());
  }
}

function expectHear(from: SimClient, to: SimClient): void {
  const frame = from.encrypt(OPUS);
  expect(frame.subarray(-2)).toEqual(Buffer.from([0xfa, 0xfa]));
  expect(frame.equals(OPUS)).toBe(false);
  expect(to.session!.decrypt(from.userId, Davey.MediaType.AUDIO, frame)).toEqual(OPUS);
}

function expectLeavesMatch(net: SimNet, clients: SimClient[]): void {
  for (const c of clients) expect(net.group.leafMap[c.session!.ownLeafIndex!]).toBe(c.userId);
}

describe('DaveGroup with real davey sessions', () => {
  it('two clients form a group: same epoch and privacy code, A→B decrypts, one commit race lost', () => {
    const net = new SimNet();
    const a = net.join(userId());
    net.pump();
    const b = net.join(userId());
    net.pump();
    expectShared([a, b], 1n);
    expect(a.transitioned.length).toBe(1);
    expect(b.transitioned).toEqual(a.transitioned);
    expect(net.group.isEstablished).toBe(true);
    expect(net.group.mediaRole(a.userId)).toBe('member');
    // Flow A: both got the other's Add and both committed; exactly one commit won.
    expect(net.metrics.racesLost).toBe(1);
    expect(net.metrics.epochs).toBe(1);
    expect(net.metrics.groups).toBe(1);
    expectHear(a, b);
    expectHear(b, a);
    expectLeavesMatch(net, [a, b]);
    // op 29 went only to the committer, op 30 only to the added member.
    const ann = net.log.filter((o) => o.kind === 'binary' && o.op === 29).map((o) => o.to);
    const wel = net.log.filter((o) => o.kind === 'binary' && o.op === 30).map((o) => o.to);
    expect(ann.length).toBe(1);
    expect(wel.length).toBe(1);
    expect(ann[0]).not.toBe(wel[0]);
    expect(net.crashes()).toEqual([]);
  });

  it('a third client joins the established group; a leave moves the other two to a new epoch', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    expectShared([a, b], 1n);
    const c = net.join(userId());
    net.pump();
    expectShared([a, b, c], 2n);
    expectHear(c, a);
    expectHear(a, c);
    expectLeavesMatch(net, [a, b, c]);
    net.leave(b.userId);
    net.pump();
    expectShared([a, c], 3n);
    expectHear(a, c);
    expectHear(c, a);
    expect(net.group.leafMap.filter((u) => u !== null).sort()).toEqual([a.userId, c.userId].sort());
    expect(net.crashes()).toEqual([]);
  });

  it('leaf bookkeeping follows RFC 9420 through add, add, remove, add', () => {
    const net = new SimNet();
    const [a, b, c] = [net.join(userId()), net.join(userId()), net.join(userId())];
    net.pump();
    const d = net.join(userId());
    net.pump();
    expectShared([a, b, c, d], net.group.epoch);
    expectLeavesMatch(net, [a, b, c, d]);
    net.leave(b.userId);
    net.pump();
    const e = net.join(userId());
    net.pump();
    expectShared([a, c, d, e], net.group.epoch);
    expectLeavesMatch(net, [a, c, d, e]);
    expect(e.session!.ownLeafIndex).toBe(net.group.leafMap.indexOf(e.userId));
    expect(net.crashes()).toEqual([]);
  });

  it('sole member reset, then a newcomer forms a fresh group with it', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    expectShared([a, b], 1n);
    net.leave(b.userId);
    net.pump();
    expect(a.transitioned.at(-1)).toBe(0);
    expect(a.session!.status).toBe(Davey.SessionStatus.PENDING);
    expect(net.group.isEstablished).toBe(false);
    expect(net.group.mediaRole(a.userId)).toBe('pending');
    const prep = net.log.filter((o) => o.to === a.userId && o.kind === 'json').slice(-2);
    expect(prep.map((o) => (o.kind === 'json' ? [o.op, o.d] : null))).toEqual([
      [24, { protocol_version: 1, epoch: 1 }],
      [21, { transition_id: 0, protocol_version: 1 }],
    ]);
    const n = net.join(userId());
    net.pump();
    expectShared([a, n], 1n);
    expectHear(n, a);
    expect(net.crashes()).toEqual([]);
  });

  it('commit race in an established group: both members commit the Add, exactly one wins, nobody is stuck', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const before = net.metrics.racesLost;
    const c = net.join(userId());
    net.pump();
    // Both A and B received Add(C) at epoch 1 and answered with a commit.
    const commits = net.log.filter((o) => o.kind === 'binary' && o.op === 29 && o.to === a.userId);
    expect(commits.length).toBeGreaterThanOrEqual(2);
    expect(net.metrics.racesLost - before).toBe(1);
    expectShared([a, b, c], 2n);
    expect(net.group.transitionInProgress).toBeNull();
    expect(net.crashes()).toEqual([]);
  });

  it('a pending user leaving with Adds in flight gets them revoked; the others still converge', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const c = net.join(userId());
    // Deliver C's key package so Add(C) goes out, then C leaves before anyone commits.
    while (net.queue.length > 0) {
      const next = net.queue[0];
      net.step(net.queue.shift()!);
      if (next.dir === 'down' && next.out.kind === 'binary' && next.out.op === 27) break;
    }
    net.leave(c.userId);
    net.pump();
    const revokes = net.log.filter((o) => o.kind === 'binary' && o.op === 27 && o.payload[0] === 1);
    expect(revokes.length).toBeGreaterThan(0);
    const d = net.join(userId());
    net.pump();
    expectShared([a, b, d], net.group.epoch);
    expect(net.crashes()).toEqual([]);
  });

  it('op 31 recovery: the member is removed and re-added with its new key package', () => {
    const net = new SimNet();
    const [a, b, c] = [net.join(userId()), net.join(userId()), net.join(userId())];
    net.pump();
    expectShared([a, b, c], net.group.epoch);
    const epoch = net.group.epoch;
    // B fails a (hypothetical) transition: it reports op 31 and re-initialises, as @discordjs/voice does.
    b.up({ kind: 'invalid', from: b.userId, transitionId: 99 });
    b.session!.reinit(1, b.userId, net.channelId);
    b.up({ kind: 'kp', from: b.userId, payload: b.session!.getSerializedKeyPackage() });
    net.pump();
    expect(net.metrics.invalid).toBe(1);
    expect(net.group.epoch).toBeGreaterThan(epoch);
    expectShared([a, b, c], net.group.epoch);
    expectLeavesMatch(net, [a, b, c]);
    expect(net.crashes()).toEqual([]);
  });

  it('a commit made before its author re-initialised is dropped as stale, and the group still forms', () => {
    const net = new SimNet();
    const a = net.join(userId());
    net.pump();
    const b = net.join(userId());
    // Run until both have answered their epoch-0 batch with a commit, holding both commits back.
    const held: (typeof net.queue)[number][] = [];
    while (net.queue.length > 0 && held.length < 2) {
      const item = net.queue.shift()!;
      if (item.dir === 'up' && item.msg.kind === 'commit') held.push(item);
      else net.step(item);
    }
    expect(held.length).toBe(2);
    // A re-initialises (as after a failed transition); only then do the two commits reach the server.
    a.session!.reinit(1, a.userId, net.channelId);
    a.up({ kind: 'kp', from: a.userId, payload: a.session!.getSerializedKeyPackage() });
    net.queue.push(...held);
    const lost = net.metrics.racesLost;
    net.pump();
    expect(net.metrics.racesLost).toBeGreaterThan(lost);
    expect(net.metrics.invalid).toBe(0);
    expect(a.closedWith).toBeNull();
    expectShared([a, b], net.group.epoch);
    expect(net.metrics.rejections).toEqual([]);
    expect(net.crashes()).toEqual([]);
  });

  it('many clients arriving at once converge on one group', () => {
    const net = new SimNet();
    const clients = Array.from({ length: 6 }, () => net.join(userId()));
    net.pump();
    expectShared(clients, net.group.epoch);
    expectLeavesMatch(net, clients);
    expect(net.crashes()).toEqual([]);
  });
});

describe('transition timeout', () => {
  it('a participant that never sends op 23 does not stall the call: op 22 goes out after the timeout', async () => {
    const net = new SimNet(undefined, 'optional', 50);
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const silent = net.join(userId());
    silent.rewriteUp = (msg) => (msg.kind === 'ready' ? null : msg);
    net.pump();
    expect(net.group.transitionInProgress).not.toBeNull();
    await new Promise<void>((resolve) => {
      const poll = () => (net.group.transitionInProgress === null ? resolve() : setTimeout(poll, 10));
      poll();
    });
    net.pump();
    expectShared([a, b, silent], 2n);
    expect(silent.transitioned.at(-1)).toBe(a.transitioned.at(-1));
    // The channel keeps working: a fourth client joins normally.
    silent.rewriteUp = null;
    const d = net.join(userId());
    net.pump();
    expectShared([a, b, silent, d], 3n);
  });
});

describe('protocol version negotiation', () => {
  it('a required channel closes a version-0 client with 4017', () => {
    const net = new SimNet(undefined, 'required');
    const a = net.join(userId());
    const z = net.join(userId(), false);
    net.pump();
    expect(z.closedWith).toBe(4017);
    expect(net.metrics.rejections).toEqual(['e2ee_required']);
    expect(net.group.mediaRole(a.userId)).toBe('pending');
  });

  it('a mixed channel downgrades for a version-0 client and upgrades when it leaves', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    expectShared([a, b], 1n);
    const z = net.join(userId(), false);
    net.pump();
    expect(z.closedWith).toBeNull();
    expect(a.protocolVersion).toBe(0);
    expect(b.protocolVersion).toBe(0);
    expect(net.group.protocolVersion).toBe(0);
    for (const c of [a, b, z]) expect(net.group.mediaRole(c.userId)).toBe('plain');
    expect(a.encrypt(OPUS)).toEqual(OPUS);
    // Nothing binary was ever sent to the DAVE-less client.
    expect(net.log.filter((o) => o.to === z.userId)).toEqual([]);
    const late = net.join(userId());
    net.pump();
    expect(late.protocolVersion).toBe(0);
    net.leave(z.userId);
    net.pump();
    expect(net.group.protocolVersion).toBe(1);
    expectShared([a, b, late], net.group.epoch);
    expectHear(late, a);
    expect(net.metrics.transitions).toContain('downgrade');
    expect(net.metrics.transitions).toContain('upgrade');
    expect(net.crashes()).toEqual([]);
  });
});
