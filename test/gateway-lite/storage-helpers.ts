/** Backends for the shared storage suite: a fresh SQLite dir or a fresh PostgreSQL schema per call, and cleanup. */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { snowflakeAt } from '../../gateway-lite/storage/buckets.ts';
import { PostgresStorage } from '../../gateway-lite/storage/postgres.ts';
import { SqliteStorage } from '../../gateway-lite/storage/sqlite.ts';
import type { BackendConfig, NewMessage } from '../../gateway-lite/storage/types.ts';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let seq = 0;
/** A schema name no parallel run can share: pid + time + counter. */
export function uniqueSchema(tag: string): string {
  return `resound_t_${tag}_${process.pid}_${Date.now().toString(36)}_${seq++}`;
}

export function sqliteConfig(tag: string): BackendConfig & { kind: 'sqlite' } {
  const base = process.env.RESOUND_TEST_DATA_DIR ?? fs.mkdtempSync('/tmp/resound-storage-');
  return { kind: 'sqlite', dataDir: path.join(base, `storage-${tag}-${process.pid}-${seq++}`) };
}

export function postgresConfig(tag: string, url = DATABASE_URL): BackendConfig & { kind: 'postgres' } {
  return { kind: 'postgres', databaseUrl: url, schema: uniqueSchema(tag), messagePartitions: 8 };
}

export type Backend = SqliteStorage | PostgresStorage;

/** Open a fresh backend of `kind`; keep `config` for dropBackend. */
export async function openFresh(
  kind: 'sqlite' | 'postgres',
  tag: string,
): Promise<{ storage: Backend; config: BackendConfig }> {
  if (kind === 'sqlite') {
    const config = sqliteConfig(tag);
    return { storage: await SqliteStorage.open(config), config };
  }
  const config = postgresConfig(tag);
  return { storage: await PostgresStorage.open(config), config };
}

/** Remove what a backend created: the schema for PostgreSQL, the directory for SQLite. */
export async function dropBackend(config: BackendConfig): Promise<void> {
  if (config.kind === 'sqlite') {
    fs.rmSync(config.dataDir, { recursive: true, force: true });
    return;
  }
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${config.schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A message at `ms` after the Discord epoch with a distinguishing low part (worker/process/increment bits). */
export function messageAt(channelId: string, ms: number, low = 0, content = `m${ms}.${low}`): NewMessage {
  return { id: (snowflakeAt(ms) | BigInt(low & 0x3fffff)).toString(), channelId, authorId: '42', content };
}
