import type { Logger } from 'pino';
import { RateLimitedLog } from '../../common/logger.ts';
import type { PushCollector } from './collector.ts';
import type { PushMetrics } from './metrics.ts';
import type { PushSink } from './types.ts';

export interface PushersOptions {
  collector: PushCollector;
  sink: PushSink;
  /** Concurrent pushers (each has at most one batch in flight). */
  concurrency: number;
  /** Most notifications per batch: 100, the per-connection pending window of Firebase's XMPP API. */
  batchSize: number;
  metrics: PushMetrics;
  logger: Logger;
}

/**
 * Pushers: each loops "pull up to batchSize, deliver, repeat". Demand comes from the consumers, so a sink that slows
 * down leaves notifications in the collector, whose bound then sheds new ones instead of growing memory.
 * A failed batch is counted and dropped (no retry: a late "you were mentioned" is worth little and retries would
 * amplify an outage).
 */
export class Pushers {
  private readonly loops: Promise<void>[] = [];
  private readonly rlog: RateLimitedLog;

  constructor(private readonly opts: PushersOptions) {
    this.rlog = new RateLimitedLog(opts.logger);
    for (let i = 0; i < opts.concurrency; i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    const { collector, sink, batchSize, metrics } = this.opts;
    for (;;) {
      const batch = await collector.pull(batchSize);
      if (batch.length === 0) return;
      try {
        await sink.deliver(batch);
        metrics.delivered.inc(batch.length);
      } catch (err) {
        metrics.failed.inc(batch.length);
        this.rlog.warn('push-failed', { err: (err as Error).message, batch: batch.length }, 'push batch failed');
      }
    }
  }

  /** Resolves when every pusher has delivered what it holds and the collector is closed and empty. */
  async stopped(): Promise<void> {
    await Promise.all(this.loops);
  }
}
