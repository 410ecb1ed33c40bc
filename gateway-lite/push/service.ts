import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { Registry } from '../../common/metrics.ts';
import type { DispatchBus, GatewayDispatch } from '../gateway/events.ts';
import { originOf } from '../gateway/fanout/wire.ts';
import { PushCollector } from './collector.ts';
import { mentionNotifications } from './mentions.ts';
import { pushMetrics, type PushMetrics } from './metrics.ts';
import { Pushers } from './pushers.ts';
import type { PresenceLookup, PushSink } from './types.ts';

export interface PushServiceOptions {
  bus: DispatchBus;
  /**
   * This node's bus origin (RedisDispatchBus.originId): only events this node published are collected here, so each
   * mention is pushed by exactly one node however many receive it. Unset (a local bus) = collect everything.
   */
  origin?: string;
  presence: PresenceLookup;
  sink: PushSink;
  capacity: number;
  concurrency: number;
  batchSize: number;
  registry: Registry;
  logger: Logger;
}

/** Push for one node: MESSAGE_CREATE mentions of users with no live session → collector → pushers → sink. */
export class PushService {
  readonly collector: PushCollector;
  readonly metrics: PushMetrics;
  private readonly pushers: Pushers;
  private readonly unsubscribe: () => void;
  private readonly rlog: RateLimitedLog;
  private inflight = new Set<Promise<void>>();

  constructor(private readonly opts: PushServiceOptions) {
    this.metrics = pushMetrics(opts.registry);
    this.rlog = new RateLimitedLog(opts.logger);
    this.collector = new PushCollector(opts.capacity, this.metrics);
    this.pushers = new Pushers({
      collector: this.collector,
      sink: opts.sink,
      concurrency: opts.concurrency,
      batchSize: opts.batchSize,
      metrics: this.metrics,
      logger: opts.logger,
    });
    this.unsubscribe = opts.bus.subscribe((e) => this.onDispatch(e));
  }

  private onDispatch(event: GatewayDispatch): void {
    if (event.t !== 'MESSAGE_CREATE') return;
    const origin = originOf(event);
    if (this.opts.origin && origin !== undefined && origin !== this.opts.origin) return;
    const wanted = mentionNotifications(event);
    if (wanted.length === 0) return;
    const p = this.opts.presence
      .offline(wanted.map((n) => n.user_id))
      .then((offline) => {
        const off = new Set(offline);
        for (const n of wanted) if (off.has(n.user_id)) this.collector.offer(n);
      })
      .catch((err: Error) => this.rlog.warn('push-presence', { err: err.message }, 'presence lookup failed'))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Stops collecting, lets pushers deliver what is buffered, closes the sink. */
  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all(this.inflight);
    this.collector.close();
    await this.pushers.stopped();
    await this.opts.sink.close?.();
  }
}
