/**
 * GUILD_MEMBER_LIST_UPDATE shapes (client-only event; described by discord-userdoccers, see
 * shared reference §5). Indexes count positions in the whole flattened list: group headers and members.
 */
export type GroupId = string; // a hoisted role id, 'online' or 'offline'

export interface ListMember {
  user_id: string;
  /** What the list sorts by: nick → global name → username, as the client shows it. */
  display_name: string;
  /** The hoisted role the member is grouped under, or null for the plain online/offline groups. */
  hoisted_role_id: string | null;
  status: 'online' | 'idle' | 'dnd' | 'offline';
}

export type ListItem = { group: { id: GroupId; count: number } } | { member: ListMember };

export type ListOp =
  | { op: 'SYNC'; range: [number, number]; items: ListItem[] }
  | { op: 'INVALIDATE'; range: [number, number] }
  | { op: 'INSERT'; index: number; item: ListItem }
  | { op: 'UPDATE'; index: number; item: ListItem }
  | { op: 'DELETE'; index: number };

export interface MemberListUpdate {
  id: string;
  member_count: number;
  online_count: number;
  groups: Array<{ id: GroupId; count: number }>;
  ops: ListOp[];
}
