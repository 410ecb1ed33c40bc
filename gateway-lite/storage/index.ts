/** Storage entry point inside gateway-lite: the types and the `openStorage` factory. */
import path from 'node:path';
import { DataService, type StorageNode } from './data-service.ts';
import { PostgresStorage } from './postgres.ts';
import { SqliteStorage } from './sqlite.ts';
import type { BackendConfig, OpenStorage, Storage, StorageConfig } from './types.ts';

export * from './types.ts';
export { DataService, type StorageNode } from './data-service.ts';
export { bucketOf, BUCKET_MS } from './buckets.ts';
export { registerStorageMetrics, type ReadStateStats } from './metrics.ts';

/** Open one backend without the data service (tests, benches, tools). */
export async function openBackend(config: BackendConfig): Promise<SqliteStorage | PostgresStorage> {
  return config.kind === 'sqlite' ? SqliteStorage.open(config) : PostgresStorage.open(config);
}

function nodeName(config: BackendConfig): string {
  if (config.kind === 'sqlite') return `sqlite:${path.resolve(config.dataDir, config.fileName ?? 'storage.sqlite')}`;
  return `postgres:${config.databaseUrl}#${config.schema ?? 'resound'}`;
}

/**
 * Open the configured backend, or every node of a cluster, behind the data service (coalescing always on; routing by
 * channel_id when there are several nodes). If one node fails to open, the ones already open are closed again.
 */
export const openStorage: OpenStorage = async (config: StorageConfig): Promise<Storage> => {
  const configs = config.kind === 'cluster' ? config.nodes : [config];
  const nodes: StorageNode[] = [];
  try {
    for (const c of configs) nodes.push({ name: nodeName(c), storage: await openBackend(c) });
  } catch (err) {
    await Promise.all(nodes.map((n) => n.storage.close()));
    throw err;
  }
  return new DataService(nodes);
};
