import { MemberList } from '../member-list/member-list.ts';
import type { ListMember } from '../member-list/types.ts';
import type { EntityStore, StoredMember, StoredRole, StoredUser } from '../storage/types.ts';

export type PresenceStatus = ListMember['status'];

/** Hoisted roles, highest position first: the member list's groups before `online` and `offline`. */
export function hoistedRoles(roles: Iterable<StoredRole>): string[] {
  return [...roles]
    .filter((r) => r.hoist)
    .sort((a, b) => b.position - a.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .map((r) => r.id);
}

/** A member as the list shows it: display name nick → global name → username; grouped under its highest hoisted role. */
export function listMember(
  m: StoredMember,
  user: StoredUser | null,
  hoisted: readonly string[],
  status: PresenceStatus,
): ListMember {
  const held = new Set(m.roleIds);
  return {
    user_id: m.userId,
    display_name: m.nick ?? user?.globalName ?? user?.username ?? m.userId,
    hoisted_role_id: hoisted.find((r) => held.has(r)) ?? null,
    status,
  };
}

/** Builds a guild's "everyone" list from its members (one user read each) and the live presences. */
export async function buildMemberList(
  members: Iterable<StoredMember>,
  roles: Iterable<StoredRole>,
  store: EntityStore,
  presence: (userId: string) => PresenceStatus,
): Promise<MemberList> {
  const hoisted = hoistedRoles(roles);
  const list = new MemberList('everyone', hoisted);
  for (const m of members) list.upsert(listMember(m, await store.getUser(m.userId), hoisted, presence(m.userId)));
  return list;
}
