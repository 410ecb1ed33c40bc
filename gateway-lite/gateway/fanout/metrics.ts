import { Counter, Gauge, type Registry } from '../../../common/metrics.ts';

/** A counter registered once per registry (two buses or collectors in one test process may share a registry). */
export function counter<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[] = [],
): Counter<L> {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

export function gauge(registry: Registry, name: string, help: string): Gauge {
  return (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [registry] });
}

/** The dispatch bus's counters. */
export function busMetrics(registry: Registry) {
  return {
    published: counter(registry, 'resound_gateway_bus_published_total', 'Dispatches this node published on the bus'),
    publishedBytes: counter(registry, 'resound_gateway_bus_published_bytes_total', 'Wire bytes published'),
    received: counter(registry, 'resound_gateway_bus_received_total', 'Dispatches received from the bus'),
    duplicates: counter(
      registry,
      'resound_gateway_bus_duplicates_total',
      'Bus messages dropped because their id was already delivered (a publish retried after a reconnect)',
    ),
    gaps: counter(
      registry,
      'resound_gateway_bus_gaps_total',
      'Bus messages missed (a counter jump from one origin: lost while this node was unsubscribed)',
    ),
    malformed: counter(registry, 'resound_gateway_bus_malformed_total', 'Unparseable messages on a bus channel', [
      'reason',
    ]),
  };
}
