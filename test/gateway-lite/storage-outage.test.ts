/**
 * A backend that is down answers StorageUnavailableError (REST maps it to 503), and nothing acknowledged is lost when
 * it returns. PostgreSQL is taken down for real by cutting a TCP relay between the pool and the shared server.
 */
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET_MS } from '../../gateway-lite/storage/buckets.ts';
import { openStorage } from '../../gateway-lite/storage/index.ts';
import { PostgresStorage } from '../../gateway-lite/storage/postgres.ts';
import { SqliteStorage } from '../../gateway-lite/storage/sqlite.ts';
import { StorageUnavailableError } from '../../gateway-lite/storage/types.ts';
import { DATABASE_URL, dropBackend, messageAt, postgresConfig, sqliteConfig } from './storage-helpers.ts';

/** A TCP relay to PostgreSQL that can be cut (listener closed, live sockets destroyed) and restored on its port. */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<void> {
    const target = new URL(DATABASE_URL);
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(): string {
    const u = new URL(DATABASE_URL);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('storage outage', () => {
  it('PostgreSQL on a closed port → StorageUnavailableError at open', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await openStorage(postgresConfig('closed', `postgres://postgres@127.0.0.1:${port}/test`)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as StorageUnavailableError).backend).toBe('postgres');
  });

  it('PostgreSQL going away mid-run: writes and reads reject as unavailable, every acknowledged message is there after', async () => {
    const relay = new Relay();
    await relay.start();
    const config = postgresConfig('outage', relay.url());
    const storage = await openStorage(config);
    cleanup.push(async () => {
      await storage.close();
      await relay.cut();
      await dropBackend(config);
    });

    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = messageAt('555', 430 * BUCKET_MS + i, i);
      await storage.createMessage(m);
      acked.push(m.id);
    }

    await relay.cut();
    const during = messageAt('555', 430 * BUCKET_MS + 100, 100);
    await expect(storage.createMessage(during)).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.history('555', { limit: 50 })).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.getUser('1')).rejects.toBeInstanceOf(StorageUnavailableError);

    await relay.start(); // same port: the pool reconnects on its own
    const after = await storage.history('555', { limit: 100 });
    expect(after.map((m) => m.id).sort()).toEqual([...acked].sort());
    // The client retries the write it was refused; ids make the retry idempotent.
    await storage.createMessage(during);
    await storage.createMessage(during);
    expect(await storage.history('555', { limit: 100 })).toHaveLength(21);
  });

  it('SQLite whose data dir cannot be created or that was closed → StorageUnavailableError', async () => {
    const blocker = path.join(process.env.RESOUND_TEST_DATA_DIR ?? '/tmp', `not-a-dir-${process.pid}`);
    fs.writeFileSync(blocker, 'x');
    cleanup.push(async () => fs.rmSync(blocker, { force: true }));
    const err = await SqliteStorage.open({ kind: 'sqlite', dataDir: path.join(blocker, 'db') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageUnavailableError);

    const config = sqliteConfig('closed');
    const storage = await SqliteStorage.open(config);
    cleanup.push(() => dropBackend(config));
    await storage.createMessage(messageAt('1', 430 * BUCKET_MS, 1));
    await storage.close();
    await expect(storage.createMessage(messageAt('1', 430 * BUCKET_MS, 2))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    await expect(storage.history('1', { limit: 5 })).rejects.toBeInstanceOf(StorageUnavailableError);
    const reopened = await SqliteStorage.open(config);
    expect(await reopened.history('1', { limit: 5 })).toHaveLength(1);
    await reopened.close();
  });

  it('closing a PostgreSQL backend twice is harmless', async () => {
    const config = postgresConfig('close');
    const storage = await PostgresStorage.open(config);
    cleanup.push(() => dropBackend(config));
    await storage.close();
    await storage.close();
    await expect(storage.getMessage('1', '2')).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
