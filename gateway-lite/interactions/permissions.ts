/** Roles-lite permissions: @everyone (role id = guild id) OR the member's roles; the owner holds every bit. */
import type { Storage, Snowflake } from '../storage/types.ts';

const ALL = (1n << 51n) - 1n;

export async function memberPermissions(storage: Storage, guildId: Snowflake, userId: Snowflake): Promise<string> {
  const [guild, member, roles] = await Promise.all([
    storage.getGuild(guildId),
    storage.getMember(guildId, userId),
    storage.listRoles(guildId),
  ]);
  if (!guild || !member) return '0';
  if (guild.ownerId === userId) return ALL.toString();
  const mine = new Set([guildId, ...member.roleIds]);
  let bits = 0n;
  for (const r of roles) if (mine.has(r.id)) bits |= BigInt(r.permissions);
  // ADMINISTRATOR (1 << 3) implies every permission.
  return (bits & 8n ? ALL : bits).toString();
}

const ADMINISTRATOR = 8n;

/**
 * A command's `default_member_permissions` at invocation: null lets everyone use it, "0" only administrators (and
 * the owner, who holds every bit), anything else needs all of its bits. ADMINISTRATOR and ownership bypass it
 * because `memberPermissions` already gives them every bit.
 */
export function mayInvoke(defaultMemberPermissions: string | null | undefined, memberPerms: string): boolean {
  if (defaultMemberPermissions === null || defaultMemberPermissions === undefined) return true;
  const need = BigInt(defaultMemberPermissions);
  const have = BigInt(memberPerms);
  if (need === 0n) return (have & ADMINISTRATOR) !== 0n;
  return (have & need) === need;
}
