import { describe, expect, it } from 'vitest';
import { createRng } from '../../common/rng.ts';
import { MemberList } from '../../gateway-lite/member-list/member-list.ts';
import type { ListItem, ListMember, ListOp } from '../../gateway-lite/member-list/types.ts';

/** A client's copy of the list: applies ops in order, as the Discord client does. */
class ClientList {
  items: ListItem[] = [];
  apply(ops: ListOp[], groups: Array<{ id: string; count: number }>): void {
    for (const op of ops) {
      switch (op.op) {
        case 'SYNC':
          this.items.splice(op.range[0], op.items.length, ...op.items);
          break;
        case 'INVALIDATE':
          this.items.splice(op.range[0], op.range[1] - op.range[0] + 1);
          break;
        case 'INSERT':
          expect(op.index).toBeGreaterThanOrEqual(0);
          expect(op.index).toBeLessThanOrEqual(this.items.length);
          this.items.splice(op.index, 0, op.item);
          break;
        case 'UPDATE':
          expect(op.index).toBeLessThan(this.items.length);
          this.items[op.index] = op.item;
          break;
        case 'DELETE':
          expect(op.index).toBeLessThan(this.items.length);
          this.items.splice(op.index, 1);
          break;
      }
    }
    // Header counts come from the payload's `groups`, as in the client.
    const counts = new Map(groups.map((g) => [g.id, g.count]));
    for (const it of this.items) if ('group' in it) it.group.count = counts.get(it.group.id) ?? -1;
  }
}

/** The true list computed from scratch: hoisted roles in order, then online, then offline, each by name then id. */
function expected(members: Map<string, ListMember>, roles: string[]): ListItem[] {
  const groupOf = (m: ListMember) =>
    m.status === 'offline'
      ? 'offline'
      : m.hoisted_role_id && roles.includes(m.hoisted_role_id)
        ? m.hoisted_role_id
        : 'online';
  const order = [...roles, 'online', 'offline'];
  const out: ListItem[] = [];
  for (const g of order) {
    const ms = [...members.values()]
      .filter((m) => groupOf(m) === g)
      .sort((a, b) => {
        const an = a.display_name.toLowerCase();
        const bn = b.display_name.toLowerCase();
        if (an !== bn) return an < bn ? -1 : 1;
        return BigInt(a.user_id) < BigInt(b.user_id) ? -1 : 1;
      });
    if (ms.length === 0) continue;
    out.push({ group: { id: g, count: ms.length } });
    for (const m of ms) out.push({ member: m });
  }
  return out;
}

const NAMES = ['ada', 'Bob', 'bob', 'cy', 'Dee', 'eve', 'fay', 'gus', 'Hal', 'ivy', 'zed', 'Ωmega', 'émile'];
const STATUSES = ['online', 'idle', 'dnd', 'offline'] as const;

describe('MemberList ops', () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: a client applying every op in order ends with the true list`, () => {
      const rng = createRng(seed);
      const roles = ['900000000000000001', '900000000000000002', '900000000000000003'];
      const list = new MemberList('everyone', roles);
      const client = new ClientList();
      const truth = new Map<string, ListMember>();
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)];
      for (let step = 0; step < 3000; step++) {
        const userId = String(100000000000000000n + BigInt(Math.floor(rng() * 120)));
        let ops: ListOp[];
        if (rng() < 0.15) {
          ops = list.remove(userId);
          if (!truth.has(userId)) expect(ops).toEqual([]);
          else expect(ops[0].op).toBe('DELETE');
          truth.delete(userId);
        } else {
          const m: ListMember = {
            user_id: userId,
            display_name: pick(NAMES),
            hoisted_role_id: rng() < 0.5 ? pick(roles) : rng() < 0.5 ? null : '900000000000000099',
            status: pick(STATUSES),
          };
          ops = list.upsert(m);
          truth.set(userId, m);
        }
        client.apply(ops, list.groups());
        if (step % 50 === 0) expect(client.items).toEqual(expected(truth, roles));
      }
      expect(client.items).toEqual(expected(truth, roles));
      expect(list.items()).toEqual(expected(truth, roles));
      expect(list.memberCount).toBe(truth.size);
      expect(list.onlineCount).toBe([...truth.values()].filter((m) => m.status !== 'offline').length);
    });
  }

  it('SYNC of any window equals that slice of the flattened list', () => {
    const rng = createRng(21);
    const list = new MemberList('everyone', ['900000000000000001']);
    for (let i = 0; i < 400; i++)
      list.upsert({
        user_id: String(200000000000000000n + BigInt(i)),
        display_name: `user${Math.floor(rng() * 1000)}`,
        hoisted_role_id: rng() < 0.2 ? '900000000000000001' : null,
        status: STATUSES[Math.floor(rng() * 4)],
      });
    const all = list.items();
    expect(all.length).toBe(list.length);
    for (const [a, b] of [
      [0, 99],
      [100, 199],
      [350, 449],
      [0, 0],
      [17, 250],
    ]) {
      const op = list.sync(a, b);
      expect(op).toEqual({ op: 'SYNC', range: [a, b], items: all.slice(a, b + 1) });
    }
  });

  it('re-hoisting roles invalidates the old list and a fresh SYNC brings the client back', () => {
    const list = new MemberList('everyone', []);
    const client = new ClientList();
    for (let i = 0; i < 20; i++)
      client.apply(
        list.upsert({
          user_id: String(300000000000000000n + BigInt(i)),
          display_name: `m${i}`,
          hoisted_role_id: i % 2 ? '900000000000000005' : null,
          status: 'online',
        }),
        list.groups(),
      );
    const inval = list.setRoles(['900000000000000005']);
    expect(inval).toEqual([{ op: 'INVALIDATE', range: [0, 20] }]);
    client.apply(inval, list.groups());
    expect(client.items).toEqual([]);
    client.apply([list.sync(0, 99)], list.groups());
    expect(client.items).toEqual(list.items());
    expect(list.groups()).toEqual([
      { id: '900000000000000005', count: 10 },
      { id: 'online', count: 10 },
    ]);
  });
});
