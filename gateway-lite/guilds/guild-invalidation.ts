import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * "Guild X changed in storage behind its actor's back" — published by a node that wrote guild rows without owning the
 * guild (REST on a non-owner), received by every node so the owner's actor reloads before its next message.
 * Redis pub/sub: fire-and-forget is enough, because a missed message only delays the reload until the actor's next
 * restart or move, never loses the write (it is already in storage).
 */
interface InvalidationEvents {
  invalidate: [guildId: string];
}

export class GuildInvalidation extends EventEmitter<InvalidationEvents> {
  private readonly channel: string;

  /** `sub` must be a connection of its own: a subscribed ioredis client can do nothing else. */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    prefix: string,
  ) {
    super();
    this.channel = `${prefix}guild-invalidate`;
    sub.on('message', (channel: string, guildId: string) => {
      if (channel === this.channel) this.emit('invalidate', guildId);
    });
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.channel);
  }

  async publish(guildId: string): Promise<void> {
    await this.pub.publish(this.channel, guildId);
  }

  close(): void {
    this.sub.disconnect();
  }
}
