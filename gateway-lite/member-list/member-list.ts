import { OrderStatisticSet } from './order-statistic-set.ts';
import type { GroupId, ListItem, ListMember, ListOp, MemberListUpdate } from './types.ts';

/** A member as the sorted set holds it: the list item plus its precomputed sort key and numeric prefix. */
interface Entry {
  key: string;
  pre: number;
  rank: number;
  member: ListMember;
}

/** What the sorted set orders: a sort key string and its numeric prefix (see `sortKey`). */
export interface Keyed {
  key: string;
  pre: number;
}

/**
 * The sort key of (group rank, display name, user id) as ONE string, so ordering is one string comparison: the rank
 * as a single UTF-16 unit, the lower-cased name, NUL (shorter names first), the id left-padded to 20 digits. `pre`
 * packs the rank and the first two name units into a double that orders like the key's first three units.
 */
export function sortKey(rank: number, displayName: string, userId: string): Keyed {
  const name = displayName.toLowerCase();
  const key = `${String.fromCharCode(rank + 1)}${name}\u0000${userId.padStart(20, '0')}`;
  const pre = (rank + 1) * 2 ** 32 + key.charCodeAt(1) * 2 ** 16 + key.charCodeAt(2);
  return { key, pre };
}

export const byKey = (a: Keyed, b: Keyed) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
export const keyPrefix = (e: Keyed) => e.pre;

/**
 * One member list (Discord's "everyone" list or one permission-overwrite list): members ordered by (group, display
 * name, id) in an order-statistic set, and the ops a subscribed client applies to stay in step. Groups are the
 * hoisted roles in position order, then `online`, then `offline`; empty groups have no header, as in Discord.
 */
export class MemberList {
  private readonly set = new OrderStatisticSet<Entry>(byKey, { prefix: keyPrefix });
  private readonly entries = new Map<string, Entry>();
  /** Member count per group rank. */
  private readonly counts = new Map<number, number>();
  private rankOfRole = new Map<string, number>();
  private roleOfRank: string[] = [];
  private online = 0;

  /** `hoistedRoles`: the guild's hoisted role ids, highest position first. */
  constructor(
    readonly id: string,
    hoistedRoles: readonly string[] = [],
  ) {
    this.setRoles(hoistedRoles);
  }

  get memberCount(): number {
    return this.entries.size;
  }

  get onlineCount(): number {
    return this.online;
  }

  /** Adds or changes a member; returns the ops that move a client's copy from the old list to the new one. */
  upsert(member: ListMember): ListOp[] {
    const before = this.entries.get(member.user_id);
    const next = this.entryFor(member);
    if (before && before.key === next.key) {
      this.set.remove(before);
      this.set.add(next);
      this.entries.set(member.user_id, next);
      if ((before.member.status === 'offline') !== (member.status === 'offline'))
        this.online += member.status === 'offline' ? -1 : 1;
      return [{ op: 'UPDATE', index: this.flatIndex(next), item: { member } }];
    }
    const ops = before ? this.removeEntry(before) : [];
    return ops.concat(this.insertEntry(next));
  }

  /** Removes a member; returns the DELETE ops (the member, then its group header if the group emptied). */
  remove(userId: string): ListOp[] {
    const e = this.entries.get(userId);
    return e ? this.removeEntry(e) : [];
  }

  /**
   * Replaces the hoisted roles (a role was hoisted, moved or deleted): every member is re-grouped and the answer is
   * an INVALIDATE of the old list, so subscribed clients ask for a fresh SYNC, as Discord does for big reshuffles.
   */
  setRoles(hoistedRoles: readonly string[]): ListOp[] {
    const oldLength = this.length;
    this.roleOfRank = [...hoistedRoles];
    this.rankOfRole = new Map(hoistedRoles.map((r, i) => [r, i]));
    const members = [...this.entries.values()].map((e) => e.member);
    this.set.clear();
    this.entries.clear();
    this.counts.clear();
    this.online = 0;
    for (const m of members) this.insertEntry(this.entryFor(m));
    return oldLength > 0 ? [{ op: 'INVALIDATE', range: [0, oldLength - 1] }] : [];
  }

  /** Number of items in the flattened list (headers + members). */
  get length(): number {
    return this.entries.size + this.counts.size;
  }

  /** The SYNC op for flattened positions start…end (inclusive, clamped), e.g. a client's [0, 99] window. */
  sync(start: number, end: number): ListOp {
    const items: ListItem[] = [];
    const last = Math.min(end, this.length - 1);
    let pos = 0;
    let setIndex = 0;
    for (const rank of this.ranks()) {
      const count = this.counts.get(rank) ?? 0;
      const groupEnd = pos + count; // header at pos, members at pos+1…pos+count
      if (groupEnd >= start && pos <= last) {
        if (pos >= start) items.push({ group: { id: this.groupId(rank), count } });
        const from = Math.max(start, pos + 1) - (pos + 1);
        const to = Math.min(last, groupEnd) - (pos + 1) + 1;
        for (const e of this.set.slice(setIndex + from, setIndex + to)) items.push({ member: e.member });
      }
      pos = groupEnd + 1;
      setIndex += count;
      if (pos > last) break;
    }
    return { op: 'SYNC', range: [start, end], items };
  }

  /** The event payload around some ops, with the current group counts. */
  update(ops: ListOp[]): MemberListUpdate {
    return {
      id: this.id,
      member_count: this.memberCount,
      online_count: this.online,
      groups: this.groups(),
      ops,
    };
  }

  groups(): Array<{ id: GroupId; count: number }> {
    return this.ranks().map((r) => ({ id: this.groupId(r), count: this.counts.get(r) ?? 0 }));
  }

  /** The whole flattened list, for tests and small guilds. */
  items(): ListItem[] {
    return (this.sync(0, this.length - 1) as Extract<ListOp, { op: 'SYNC' }>).items;
  }

  private entryFor(member: ListMember): Entry {
    const rank =
      member.status === 'offline'
        ? this.roleOfRank.length + 1
        : member.hoisted_role_id !== null && this.rankOfRole.has(member.hoisted_role_id)
          ? this.rankOfRole.get(member.hoisted_role_id)!
          : this.roleOfRank.length;
    return { ...sortKey(rank, member.display_name, member.user_id), rank, member };
  }

  private groupId(rank: number): GroupId {
    return rank < this.roleOfRank.length
      ? this.roleOfRank[rank]
      : rank === this.roleOfRank.length
        ? 'online'
        : 'offline';
  }

  /** Non-empty group ranks in list order (a few dozen at most: hoisted roles + online + offline). */
  private ranks(): number[] {
    return [...this.counts.keys()].sort((a, b) => a - b);
  }

  /** Headers of non-empty groups up to and including `rank`. */
  private headersThrough(rank: number): number {
    let n = 0;
    for (const r of this.counts.keys()) if (r <= rank) n++;
    return n;
  }

  private flatIndex(e: Entry): number {
    return this.set.indexOf(e) + this.headersThrough(e.rank);
  }

  private insertEntry(e: Entry): ListOp[] {
    const ops: ListOp[] = [];
    const count = this.counts.get(e.rank) ?? 0;
    this.counts.set(e.rank, count + 1);
    const setIndex = this.set.add(e);
    this.entries.set(e.member.user_id, e);
    if (e.member.status !== 'offline') this.online++;
    const index = setIndex + this.headersThrough(e.rank);
    if (count === 0)
      ops.push({ op: 'INSERT', index: index - 1, item: { group: { id: this.groupId(e.rank), count: 1 } } });
    ops.push({ op: 'INSERT', index, item: { member: e.member } });
    return ops;
  }

  private removeEntry(e: Entry): ListOp[] {
    const index = this.set.remove(e) + this.headersThrough(e.rank);
    this.entries.delete(e.member.user_id);
    if (e.member.status !== 'offline') this.online--;
    const count = this.counts.get(e.rank)! - 1;
    const ops: ListOp[] = [{ op: 'DELETE', index }];
    if (count === 0) {
      this.counts.delete(e.rank);
      ops.push({ op: 'DELETE', index: index - 1 });
    } else this.counts.set(e.rank, count);
    return ops;
  }
}
