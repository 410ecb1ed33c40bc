import type { DispatchBus } from '../gateway/events.ts';
import type { PresenceLookup } from './types.ts';

/**
 * Who is online, learnt from the PRESENCE_UPDATE dispatches every node's gateway publishes on the bus when a user's
 * first session comes up (its status) and the last one ends (`offline`) — so it covers every node without hooks into
 * the session layer — plus a check of this node's own sessions (a user seen before this node started).
 * Invisible users read as offline (that is what their presence says) and may get pushes.
 */
export class BusPresence implements PresenceLookup {
  private readonly online = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    bus: DispatchBus,
    private readonly local: (userId: string) => boolean,
  ) {
    this.unsubscribe = bus.subscribe((e) => {
      if (e.t !== 'PRESENCE_UPDATE' || typeof e.d !== 'object' || e.d === null) return;
      const d = e.d as { user?: { id?: unknown }; status?: unknown };
      if (typeof d.user?.id !== 'string') return;
      if (d.status === 'offline') this.online.delete(d.user.id);
      else if (typeof d.status === 'string') this.online.add(d.user.id);
    });
  }

  offline(userIds: string[]): Promise<string[]> {
    return Promise.resolve(userIds.filter((u) => !this.online.has(u) && !this.local(u)));
  }

  close(): void {
    this.unsubscribe();
  }
}
