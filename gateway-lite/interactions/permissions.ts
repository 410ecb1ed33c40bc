/** Roles-lite permissions: @everyone (role id = guild id) OR the member's roles; the owner holds every bit. */
import type { StoredGuild, StoredMember, StoredRole } from '../storage/types.ts';

const ALL = (1n << 51n) - 1n;

/** A member's permissions from rows the caller loaded (an invocation reads them once for user and bot). */
export function permissionsOf(
  guild: StoredGuild | null,
  member: StoredMember | null,
  roles: readonly StoredRole[],
): string {
  if (!guild || !member) return '0';
  if (guild.ownerId === member.userId) return ALL.toString();
  const mine = new Set([guild.id, ...member.roleIds]);
  let bits = 0n;
  for (const r of roles) if (mine.has(r.id)) bits |= BigInt(r.permissions);
  // ADMINISTRATOR (1 << 3) implies every permission.
  return (bits & 8n ? ALL : bits).toString();
}

const ADMINISTRATOR = 8n;

/**
 * A command's `default_member_permissions` at invocation: null lets everyone use it, "0" only administrators (and
 * the owner, who holds every bit), anything else needs all of its bits. ADMINISTRATOR and ownership bypass it
 * because `permissionsOf` already gives them every bit.
 */
export function mayInvoke(defaultMemberPermissions: string | null | undefined, memberPerms: string): boolean {
  if (defaultMemberPermissions === null || defaultMemberPermissions === undefined) return true;
  const need = BigInt(defaultMemberPermissions);
  const have = BigInt(memberPerms);
  if (need === 0n) return (have & ADMINISTRATOR) !== 0n;
  return (have & need) === need;
}
