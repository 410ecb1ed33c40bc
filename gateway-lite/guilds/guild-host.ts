import { EventEmitter } from 'node:events';
import type { EntityStore, Snowflake } from '../storage/types.ts';
import { GuildActor, UnknownGuildError, type GuildActorHooks } from './guild-actor.ts';
import { HashRing } from '../storage/ring.ts';
import type { GuildInvalidation } from './guild-invalidation.ts';
import type { NodeMembership } from './node-membership.ts';

interface HostEvents {
  /** The ring changed: the live nodes, and the guild actors this node handed away because it no longer owns them. */
  rebalanced: [info: { nodes: string[]; released: Snowflake[] }];
  /** A local actor was told to reload because another node wrote its guild's rows. */
  invalidated: [guildId: Snowflake];
}

export interface GuildHostOptions {
  nodeId: string;
  store: EntityStore;
  /** Live-node list from Redis; without it this node is the whole ring (the single-process default). */
  membership?: NodeMembership;
  hooks?: GuildActorHooks;
  /** Cross-node "reload this guild" notices; without it (one node) nobody else writes guild rows. */
  invalidation?: GuildInvalidation;
}

/**
 * The guild actors living on this node, placed on a consistent-hash ring of live nodes. When a node dies its lease
 * expires, every survivor's ring drops it, and the guilds it owned hash to survivors, which start their actors from
 * storage on first use; a node that loses ownership closes its actors (after their queued messages) so there is one
 * writer per guild per ring.
 */
export class GuildHost extends EventEmitter<HostEvents> {
  private ring: HashRing<string>;
  private ringNodes: string[];
  private readonly actors = new Map<Snowflake, GuildActor>();
  private readonly onChange = (nodes: string[]) => this.rebuild(nodes);
  private readonly onInvalidate = (guildId: Snowflake) => {
    const actor = this.actors.get(guildId);
    if (actor)
      void actor.invalidate().then(
        () => this.emit('invalidated', guildId),
        () => {},
      );
  };

  constructor(private readonly opts: GuildHostOptions) {
    super();
    this.ringNodes = opts.membership?.nodes.length ? opts.membership.nodes : [opts.nodeId];
    this.ring = ringOf(this.ringNodes);
    opts.membership?.on('change', this.onChange);
    opts.invalidation?.on('invalidate', this.onInvalidate);
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  get nodes(): readonly string[] {
    return this.ringNodes;
  }

  /** The node that owns `guildId` on the current ring. */
  owner(guildId: Snowflake): string {
    return this.ring.lookup(guildId);
  }

  owns(guildId: Snowflake): boolean {
    return this.owner(guildId) === this.opts.nodeId;
  }

  /** Actors currently running here. */
  get active(): Snowflake[] {
    return [...this.actors.keys()];
  }

  /**
   * The local actor of a guild this node owns (started on first use). A guild owned elsewhere is refused: callers
   * (the REST layer) then answer from storage or redirect — this node must not become a second writer.
   */
  actor(guildId: Snowflake): GuildActor {
    let a = this.actors.get(guildId);
    if (a) return a;
    if (!this.owns(guildId)) throw new NotOwnerError(guildId, this.owner(guildId));
    a = new GuildActor(guildId, this.opts.store, this.opts.hooks);
    this.actors.set(guildId, a);
    return a;
  }

  /** Drops an actor whose guild turned out not to exist (so unknown ids do not pile up actors). */
  forget(guildId: Snowflake, err: unknown): void {
    if (err instanceof UnknownGuildError) this.actors.delete(guildId);
  }

  /** After writing a guild's rows without owning it: tells the owner's actor to reload. */
  async changedElsewhere(guildId: Snowflake): Promise<void> {
    await this.opts.invalidation?.publish(guildId);
  }

  async close(): Promise<void> {
    this.opts.membership?.off('change', this.onChange);
    this.opts.invalidation?.off('invalidate', this.onInvalidate);
    await Promise.all([...this.actors.values()].map((a) => a.close()));
    this.actors.clear();
  }

  private rebuild(nodes: string[]): void {
    this.ringNodes = nodes.length ? nodes : [this.opts.nodeId];
    this.ring = ringOf(this.ringNodes);
    const released: Snowflake[] = [];
    for (const [id, actor] of this.actors) {
      if (this.owns(id)) continue;
      this.actors.delete(id);
      released.push(id);
      void actor.close();
    }
    this.emit('rebalanced', { nodes: [...this.ringNodes], released });
  }
}

export class NotOwnerError extends Error {
  constructor(
    readonly guildId: Snowflake,
    readonly owner: string,
  ) {
    super(`guild ${guildId} is owned by node ${owner}`);
    this.name = 'NotOwnerError';
  }
}

const ringOf = (nodes: string[]) => new HashRing<string>(nodes.map((n) => [n, n] as const));
