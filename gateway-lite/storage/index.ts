/** Storage entry point inside gateway-lite: the types and the `openStorage` factory. */
import type { OpenStorage, Storage, StorageConfig } from './types.ts';

export * from './types.ts';

/** Open the configured backend (or cluster of nodes) behind the data service. Backends land in the next commits. */
export const openStorage: OpenStorage = async (config: StorageConfig): Promise<Storage> => {
  throw new Error(`storage kind ${config.kind} is not implemented yet`);
};
