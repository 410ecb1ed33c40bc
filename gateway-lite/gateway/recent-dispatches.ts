import type { DispatchBus, GatewayDispatch } from './events.ts';

/**
 * The last `capacity` bus events this node received, in arrival order — the same order on every node, because each
 * node receives every bus shard on one Redis connection and Redis delivers publishes to all subscribers in the
 * order it executed them.
 *
 * Why: when a session is taken over from another node, the old holder appended the session's dispatches to the store
 * in bus order until the take. So every dispatch the session is owed that came after the newest bus event in the
 * taken record is missing from it — and this node has already received it, before the session existed here.
 * `after(id)` hands those back so the new holder numbers them next; nothing lost, nothing twice.
 */
export class RecentDispatches {
  private readonly ring: (GatewayDispatch | undefined)[];
  private readonly ids: (string | undefined)[];
  private next = 0;
  private count = 0;
  private readonly unsubscribe: () => void;

  constructor(
    bus: DispatchBus,
    readonly capacity = 8192,
  ) {
    this.ring = new Array<GatewayDispatch | undefined>(capacity);
    this.ids = new Array<string | undefined>(capacity);
    this.unsubscribe = bus.subscribe((e) => this.push(e));
  }

  private push(e: GatewayDispatch): void {
    const id = e.id;
    if (id === undefined) return;
    this.ring[this.next] = e;
    this.ids[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /**
   * Events received after the one with bus id `id`, oldest first; null when `id` is not (or no longer) here, i.e.
   * this node cannot tell what followed it.
   */
  after(id: string): GatewayDispatch[] | null {
    for (let k = 1; k <= this.count; k++) {
      const i = (this.next - k + this.capacity) % this.capacity;
      if (this.ids[i] === id) {
        const out: GatewayDispatch[] = [];
        for (let j = k - 1; j >= 1; j--) out.push(this.ring[(this.next - j + this.capacity) % this.capacity]!);
        return out;
      }
    }
    return null;
  }

  close(): void {
    this.unsubscribe();
  }
}
