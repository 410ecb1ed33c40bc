/**
 * The platform core's public face (guild state, message storage, member lists, the Discord REST API). Other parts
 * and bin/ import only from here.
 */
export { OrderStatisticSet, type Compare, type OrderStatisticSetOptions } from './member-list/order-statistic-set.ts';
export { MemberList } from './member-list/member-list.ts';
export type { ListItem, ListMember, ListOp, MemberListUpdate, GroupId } from './member-list/types.ts';
