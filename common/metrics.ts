import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry, Counter, Gauge, Histogram, Summary } from 'prom-client';

let processRegistry: Registry | undefined;

/** Process-level metrics (CPU, memory, event-loop lag), registered once per process. */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'resound_' });
  }
  return processRegistry;
}

/**
 * Each server instance owns a registry so several instances (tests, side-by-side servers) never collide on metric
 * names; `/metrics` serves the instance's metrics followed by the process's.
 */
export async function renderMetrics(...registries: Registry[]): Promise<{ body: string; contentType: string }> {
  const parts = await Promise.all([...registries, processMetrics()].map((r) => r.metrics()));
  return { body: parts.join('\n'), contentType: processMetrics().contentType };
}
