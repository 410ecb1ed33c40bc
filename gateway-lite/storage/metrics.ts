/**
 * Storage figures for /metrics, read from the plain counters the data service and backends keep, at scrape time
 * (nothing is done per query beyond incrementing a number).
 */
import { Counter, Gauge, type Registry } from '../../common/metrics.ts';
import type { QueryCounters } from './buckets.ts';
import { DataService } from './data-service.ts';
import type { Storage } from './types.ts';

/** What read states expose for metrics (ReadStates.stats). */
export interface ReadStateStats {
  readonly stats: { entries: number; bytes: number; dirty: number };
}

function countersOf(storage: Storage): QueryCounters[] {
  const nodes = storage instanceof DataService ? storage.nodes.map((n) => n.storage) : [storage];
  return nodes.flatMap((s) => ('counters' in s ? [(s as Storage & { counters: QueryCounters }).counters] : []));
}

export function registerStorageMetrics(registry: Registry, storage: Storage, readStates?: ReadStateStats): void {
  const registers = [registry];
  const sum = (pick: (c: QueryCounters) => number) => countersOf(storage).reduce((a, c) => a + pick(c), 0);
  if (storage instanceof DataService) {
    const co = storage.coalescer;
    new Counter({
      name: 'resound_gl_storage_reads_total',
      help: 'Reads through the data service: queried (ran a backend query) or coalesced (joined one in flight)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        this.inc({ outcome: 'queried' }, co.executed);
        this.inc({ outcome: 'coalesced' }, co.joined);
      },
    });
  }
  const scalar = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  scalar('resound_gl_storage_history_queries_total', 'history() calls that reached a backend', () =>
    sum((c) => c.historyQueries),
  );
  scalar('resound_gl_storage_partition_reads_total', 'Reads of one (channel, bucket) message partition', () =>
    sum((c) => c.bucketReads),
  );
  scalar('resound_gl_storage_bucket_index_reads_total', 'Reads of a channel bucket index', () =>
    sum((c) => c.bucketIndexReads),
  );
  if (readStates) {
    new Gauge({
      name: 'resound_gl_read_states',
      help: 'Read-state cache: entries, estimated bytes, changes not yet written',
      labelNames: ['what'],
      registers,
      collect() {
        const s = readStates.stats;
        this.set({ what: 'entries' }, s.entries);
        this.set({ what: 'bytes' }, s.bytes);
        this.set({ what: 'dirty' }, s.dirty);
      },
    });
  }
}
