import { Counter, Gauge, type Registry } from '../../common/metrics.ts';

function counter(registry: Registry, name: string, help: string): Counter {
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
}

/** Push counters: every notification ends up delivered, shed (buffer full) or failed (the sink refused its batch). */
export function pushMetrics(registry: Registry) {
  return {
    buffered: counter(registry, 'resound_push_buffered_total', 'Notifications accepted into the collector buffer'),
    delivered: counter(registry, 'resound_push_delivered_total', 'Notifications the sink accepted'),
    shed: counter(registry, 'resound_push_shed_total', 'Notifications dropped because the collector buffer was full'),
    failed: counter(registry, 'resound_push_failed_total', 'Notifications in batches the sink refused or timed out'),
    depth:
      (registry.getSingleMetric('resound_push_buffer_depth') as Gauge | undefined) ??
      new Gauge({
        name: 'resound_push_buffer_depth',
        help: 'Notifications waiting for a pusher',
        registers: [registry],
      }),
  };
}

export type PushMetrics = ReturnType<typeof pushMetrics>;
