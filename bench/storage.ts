/**
 * Message storage: insert rate, history read latency, and the coalescing gain, on SQLite and PostgreSQL.
 *
 *   npm run bench -- storage [--quick] [--messages=N] [--channels=N] [--pg-messages=N] [--reads=N] [--no-pg]
 *
 * Full size is 10 M messages across 1 k channels in SQLite (disk-heavy: ~3 GB, minutes); --quick is 200 k / 100.
 * Messages are spread over a year of snowflake time in arrival order, interleaved across channels, so each channel's
 * history spans ~37 ten-day buckets. Every figure has a baseline measured in the same run:
 *  - insert: createMessage with group commit (4096 in flight) vs the same call awaited one by one (one commit each);
 *  - history: the bucket walk (index read + per-bucket reads) vs one plain primary-key query per page, same table;
 *  - coalescing: 100 concurrent identical reads through the data service vs the same 100 straight to the backend.
 * PostgreSQL is seeded with a bulk loader (its own insert rate is measured on a sample through createMessage).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createRng, type Rng } from '../common/rng.ts';
import { emit, percentile, ratio, round, sortedCopy } from './_harness.ts';
import { BUCKET_MS, DataService, bucketOf, openBackend } from '../gateway-lite/storage/index.ts';
import type { HistoryQuery, NewMessage, Storage } from '../gateway-lite/storage/index.ts';

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const quick = process.argv.includes('--quick');
const MESSAGES = arg('messages', quick ? 200_000 : 10_000_000);
const CHANNELS = arg('channels', quick ? 100 : 1_000);
const PG_MESSAGES = arg('pg-messages', quick ? 200_000 : 1_000_000);
const READS = arg('reads', quick ? 2_000 : 20_000);
const ROUNDS = quick ? 30 : 100;
const LIMIT = 50;
const WAVE = 4096;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A year of time ending at bucket 440 (late 2026), in ms since the Discord epoch. */
const END_MS = 440 * BUCKET_MS;
const SPAN_MS = 365 * 24 * 3600 * 1000;
const channelId = (c: number): string => String(10_000_000 + c);

/** The i-th of n messages in arrival order: time grows with i, channel is random, low bits make ids unique. */
function message(i: number, n: number, rng: Rng, channels: number): NewMessage {
  const ms = END_MS - SPAN_MS + Math.floor((i / n) * SPAN_MS);
  const id = ((BigInt(ms) << 22n) | BigInt(i & 0x3fffff)).toString();
  const c = Math.floor(rng() * channels);
  return { id, channelId: channelId(c), authorId: String(1 + (i % 997)), content: `message ${i} in ${c}` };
}

/** A random history page: newest (half) or before a random point of the channel's year. */
function randomQuery(rng: Rng, channels: number): [string, HistoryQuery] {
  const ch = channelId(Math.floor(rng() * channels));
  if (rng() < 0.5) return [ch, { limit: LIMIT }];
  const ms = END_MS - Math.floor(rng() * SPAN_MS);
  return [ch, { before: (BigInt(ms) << 22n).toString(), limit: LIMIT }];
}

async function latencies(
  reads: number,
  seed: number,
  channels: number,
  fn: (ch: string, q: HistoryQuery) => Promise<unknown>,
) {
  const rng = createRng(seed);
  for (let i = 0; i < 200; i++) await fn(...randomQuery(rng, channels)); // warm caches and JIT
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reads; i++) {
    const [ch, q] = randomQuery(rng, channels);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(ch, q);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const s = sortedCopy(ms);
  const c = sortedCopy(cpu);
  return {
    p50: round(percentile(s, 50), 3),
    p99: round(percentile(s, 99), 3),
    p999: round(percentile(s, 99.9), 3),
    // CPU time of this process per read: the service time without waits for a core on a shared machine.
    cpu_p50: round(percentile(c, 50), 3),
    cpu_p99: round(percentile(c, 99), 3),
  };
}

/** 100 concurrent identical reads per round: through the data service vs straight to the backend. */
async function coalescing(
  backendName: string,
  backend: Storage & { counters: { historyQueries: number } },
  channels: number,
) {
  const service = new DataService([{ name: backendName, storage: backend }]);
  const rng = createRng(7);
  let plainMs = 0;
  let coalescedMs = 0;
  let plainQueries = 0;
  let coalescedQueries = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const [ch, q] = randomQuery(rng, channels);
    const order = r % 2 === 0 ? ['plain', 'coalesced'] : ['coalesced', 'plain'];
    for (const which of order) {
      const q0 = backend.counters.historyQueries;
      const t0 = performance.now();
      const target = which === 'plain' ? backend : service;
      await Promise.all(Array.from({ length: 100 }, () => target.history(ch, q)));
      const dt = performance.now() - t0;
      const dq = backend.counters.historyQueries - q0;
      if (which === 'plain') [plainMs, plainQueries] = [plainMs + dt, plainQueries + dq];
      else [coalescedMs, coalescedQueries] = [coalescedMs + dt, coalescedQueries + dq];
    }
  }
  const reads = ROUNDS * 100;
  const coalescedRps = reads / (coalescedMs / 1000);
  const plainRps = reads / (plainMs / 1000);
  emit({
    bench: 'storage',
    figure: `${backendName}_coalescing`,
    concurrent_identical_reads: 100,
    rounds: ROUNDS,
    reads_per_sec: Math.round(coalescedRps),
    queries_per_100_reads: round(coalescedQueries / ROUNDS, 2),
    baseline: 'same 100 reads straight to the backend (uncoalesced)',
    baseline_reads_per_sec: Math.round(plainRps),
    baseline_queries_per_100_reads: round(plainQueries / ROUNDS, 2),
    ratio: ratio(coalescedRps, plainRps),
  });
}

async function sqlitePart(dir: string): Promise<void> {
  const storage = await openBackend({ kind: 'sqlite', dataDir: dir });
  if (storage.kind !== 'sqlite') throw new Error('expected sqlite');
  // Baseline first, on its own channel range so it does not change the measured channels' shape.
  const seqN = quick ? 300 : 1_000;
  const seqRng = createRng(3);
  let t0 = performance.now();
  for (let i = 0; i < seqN; i++) {
    const m = message(i, seqN, seqRng, 10);
    await storage.createMessage({ ...m, channelId: `9${m.channelId}` });
  }
  const seqRate = seqN / ((performance.now() - t0) / 1000);

  const rng = createRng(1);
  t0 = performance.now();
  let lastReport = t0;
  for (let i = 0; i < MESSAGES; i += WAVE) {
    const wave: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(MESSAGES, i + WAVE); j++)
      wave.push(storage.createMessage(message(j, MESSAGES, rng, CHANNELS)));
    await Promise.all(wave);
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      process.stderr.write(`storage bench: ${i + WAVE} / ${MESSAGES} inserted\n`);
    }
  }
  const insertSec = (performance.now() - t0) / 1000;
  const rate = MESSAGES / insertSec;
  emit({
    bench: 'storage',
    figure: 'sqlite_insert',
    messages: MESSAGES,
    channels: CHANNELS,
    per_sec: Math.round(rate),
    seconds: round(insertSec, 1),
    commits: storage.writer.commits,
    durability: 'WAL, synchronous=FULL, acked after commit',
    db_bytes:
      fs.statSync(storage.file).size +
      (fs.existsSync(`${storage.file}-wal`) ? fs.statSync(`${storage.file}-wal`).size : 0),
    baseline: 'createMessage awaited one at a time (one commit + fsync each)',
    baseline_per_sec: Math.round(seqRate),
    ratio: ratio(rate, seqRate),
  });

  const walk = await latencies(READS, 11, CHANNELS, (ch, q) => storage.history(ch, q));
  // Baseline: one primary-key query per page on the same table, no bucket index and no per-bucket reads.
  const db = new Database(storage.file, { readonly: true });
  db.defaultSafeIntegers(true);
  const newest = db.prepare(
    'SELECT * FROM messages WHERE channel_id = ? ORDER BY bucket DESC, message_id DESC LIMIT ?',
  );
  const before = db.prepare(
    'SELECT * FROM messages WHERE channel_id = ? AND bucket <= ? AND message_id < ? ORDER BY bucket DESC, message_id DESC LIMIT ?',
  );
  const plain = await latencies(READS, 11, CHANNELS, async (ch, q) => {
    if (q.before === undefined) return newest.all(BigInt(ch), q.limit);
    return before.all(BigInt(ch), bucketOf(q.before), BigInt(q.before), q.limit);
  });
  emit({
    bench: 'storage',
    figure: 'sqlite_history_ms',
    messages: MESSAGES,
    reads: READS,
    limit: LIMIT,
    ...walk,
    goal_p99_ms: 2,
    discord_scylla_p99_ms: 15,
    baseline: 'one primary-key query per page on the same table (no bucket walk)',
    baseline_p50: plain.p50,
    baseline_p99: plain.p99,
    ratio: ratio(walk.p99, plain.p99),
  });
  db.close();
  await coalescing('sqlite', storage, CHANNELS);
  await storage.close();
}

/** Bulk-load PostgreSQL (seeding only), then measure createMessage on a sample and the same reads. */
async function postgresPart(): Promise<void> {
  const schema = `resound_bench_${process.pid}_${Date.now().toString(36)}`;
  const storage = await openBackend({ kind: 'postgres', databaseUrl: DATABASE_URL, schema, messagePartitions: 16 });
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    const channels = Math.min(CHANNELS, Math.max(10, Math.round(PG_MESSAGES / 1000)));
    const rng = createRng(2);
    const counts = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < PG_MESSAGES; i += 5_000) {
      const cols: string[][] = [[], [], [], [], []];
      for (let j = i; j < Math.min(PG_MESSAGES, i + 5_000); j++) {
        const m = message(j, PG_MESSAGES, rng, channels);
        const b = bucketOf(m.id);
        const key = `${m.channelId}:${b}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        cols[0].push(m.channelId);
        cols[1].push(String(b));
        cols[2].push(m.id);
        cols[3].push(m.authorId);
        cols[4].push(m.content);
      }
      await admin.query(
        `INSERT INTO ${schema}.messages (channel_id, bucket, message_id, guild_id, author_id, content, edited_at, data)
         SELECT c, b, m, NULL, a, t, NULL, '{"type":0,"flags":0,"tts":false,"pinned":false,"mentionEveryone":false,
         "mentionUserIds":[],"mentionRoleIds":[],"attachments":[],"embeds":[],"reference":null}'::jsonb
         FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::text[]) AS u(c, b, m, a, t)`,
        cols,
      );
    }
    const entries = [...counts];
    await admin.query(
      `INSERT INTO ${schema}.channel_buckets SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[])`,
      [entries.map(([k]) => k.split(':')[0]), entries.map(([k]) => k.split(':')[1]), entries.map(([, n]) => n)],
    );
    await admin.query(`ANALYZE ${schema}.messages`);
    const seedSec = (performance.now() - t0) / 1000;

    // createMessage on a sample: 64 in flight vs one at a time.
    const sample = quick ? 1_000 : 5_000;
    const srng = createRng(4);
    const sampleMsgs = Array.from({ length: sample }, (_, i) => ({
      ...message(i, sample, srng, 10),
      channelId: `9${i % 10}`,
    }));
    let t1 = performance.now();
    for (let i = 0; i < sample; i += 64)
      await Promise.all(sampleMsgs.slice(i, i + 64).map((m) => storage.createMessage(m)));
    const concRate = sample / ((performance.now() - t1) / 1000);
    const seqN = Math.min(300, sample);
    t1 = performance.now();
    for (let i = 0; i < seqN; i++) await storage.createMessage({ ...sampleMsgs[i], channelId: `8${i % 10}` });
    const seqRate = seqN / ((performance.now() - t1) / 1000);
    emit({
      bench: 'storage',
      figure: 'postgres_insert',
      messages_seeded: PG_MESSAGES,
      channels,
      seed_rows_per_sec: Math.round(PG_MESSAGES / seedSec),
      per_sec: Math.round(concRate),
      sample,
      durability: 'synchronous_commit=on, one statement per message',
      baseline: 'createMessage awaited one at a time',
      baseline_per_sec: Math.round(seqRate),
      ratio: ratio(concRate, seqRate),
    });

    const walk = await latencies(READS, 11, channels, (ch, q) => storage.history(ch, q));
    const plain = await latencies(READS, 11, channels, (ch, q) =>
      q.before === undefined
        ? admin.query(
            `SELECT * FROM ${schema}.messages WHERE channel_id = $1 ORDER BY bucket DESC, message_id DESC LIMIT $2`,
            [ch, q.limit],
          )
        : admin.query(
            `SELECT * FROM ${schema}.messages WHERE channel_id = $1 AND bucket <= $2 AND message_id < $3
             ORDER BY bucket DESC, message_id DESC LIMIT $4`,
            [ch, bucketOf(q.before), q.before, q.limit],
          ),
    );
    emit({
      bench: 'storage',
      figure: 'postgres_history_ms',
      messages: PG_MESSAGES,
      reads: READS,
      limit: LIMIT,
      ...walk,
      goal_p99_ms: 2,
      baseline: 'one primary-key query per page on the same table (no bucket walk)',
      baseline_p50: plain.p50,
      baseline_p99: plain.p99,
      ratio: ratio(walk.p99, plain.p99),
    });
    await coalescing('postgres', storage, channels);
  } finally {
    await storage.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-storage-bench-'));
emit({
  bench: 'storage',
  figure: 'setup',
  quick,
  messages: MESSAGES,
  channels: CHANNELS,
  pg_messages: PG_MESSAGES,
  reads: READS,
  cpus: os.cpus().length,
  load: os.loadavg().map((l) => round(l, 1)),
});
try {
  await sqlitePart(dir);
  if (!process.argv.includes('--no-pg')) await postgresPart();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
