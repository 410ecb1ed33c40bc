/**
 * PostgreSQL DDL. `messages` and its bucket index `channel_buckets` are hash-partitioned by channel_id, the same
 * column a distributed PostgreSQL (Citus) shards on, so one channel's partitions, index rows and writes stay on one
 * shard. Entities are small and keyed by their own ids.
 */
import type { PoolClient } from 'pg';

export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function ddl(schema: string, partitions: number): string[] {
  const s = schema;
  const parts = (table: string): string[] =>
    Array.from(
      { length: partitions },
      (_, i) =>
        `CREATE TABLE IF NOT EXISTS ${s}.${table}_p${i} PARTITION OF ${s}.${table}
         FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i})`,
    );
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.messages (channel_id bigint NOT NULL, bucket integer NOT NULL,
       message_id bigint NOT NULL, guild_id bigint, author_id bigint NOT NULL, content text NOT NULL,
       edited_at bigint, data jsonb NOT NULL, PRIMARY KEY (channel_id, bucket, message_id))
       PARTITION BY HASH (channel_id)`,
    ...parts('messages'),
    `CREATE TABLE IF NOT EXISTS ${s}.channel_buckets (channel_id bigint NOT NULL, bucket integer NOT NULL,
       message_count integer NOT NULL, PRIMARY KEY (channel_id, bucket)) PARTITION BY HASH (channel_id)`,
    ...parts('channel_buckets'),
    `CREATE TABLE IF NOT EXISTS ${s}.users (id bigint PRIMARY KEY, username text NOT NULL, global_name text,
       avatar text, bot boolean NOT NULL, token_hash text UNIQUE)`,
    `CREATE TABLE IF NOT EXISTS ${s}.guilds (id bigint PRIMARY KEY, name text NOT NULL, owner_id bigint NOT NULL,
       icon text)`,
    `CREATE TABLE IF NOT EXISTS ${s}.channels (id bigint PRIMARY KEY, guild_id bigint NOT NULL, type integer NOT NULL,
       name text NOT NULL, position integer NOT NULL, topic text, parent_id bigint, bitrate integer, user_limit integer)`,
    `CREATE INDEX IF NOT EXISTS channels_by_guild ON ${s}.channels (guild_id, position, id)`,
    `CREATE TABLE IF NOT EXISTS ${s}.members (guild_id bigint NOT NULL, user_id bigint NOT NULL, nick text,
       role_ids jsonb NOT NULL, joined_at bigint NOT NULL, PRIMARY KEY (guild_id, user_id))`,
    `CREATE INDEX IF NOT EXISTS members_by_user ON ${s}.members (user_id, guild_id)`,
    `CREATE TABLE IF NOT EXISTS ${s}.roles (guild_id bigint NOT NULL, id bigint NOT NULL, name text NOT NULL,
       permissions text NOT NULL, position integer NOT NULL, color integer NOT NULL, hoist boolean NOT NULL,
       mentionable boolean NOT NULL, PRIMARY KEY (guild_id, id))`,
    `CREATE TABLE IF NOT EXISTS ${s}.voice_states (guild_id bigint NOT NULL, user_id bigint NOT NULL,
       channel_id bigint NOT NULL, session_id text NOT NULL, self_mute boolean NOT NULL, self_deaf boolean NOT NULL,
       mute boolean NOT NULL, deaf boolean NOT NULL, PRIMARY KEY (guild_id, user_id))`,
    `CREATE TABLE IF NOT EXISTS ${s}.applications (id bigint PRIMARY KEY, bot_user_id bigint NOT NULL UNIQUE,
       owner_id bigint NOT NULL, name text NOT NULL, description text NOT NULL, public_key text NOT NULL,
       private_key text NOT NULL, endpoint_url text, flags integer NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.application_commands (application_id bigint NOT NULL, guild_id bigint NOT NULL,
       id bigint NOT NULL, name text NOT NULL, type integer NOT NULL, version bigint NOT NULL, data jsonb NOT NULL,
       PRIMARY KEY (application_id, guild_id, id))`,
    `CREATE UNIQUE INDEX IF NOT EXISTS application_commands_by_id ON ${s}.application_commands (application_id, id)`,
    `CREATE TABLE IF NOT EXISTS ${s}.read_states (user_id bigint NOT NULL, channel_id bigint NOT NULL,
       last_message_id bigint NOT NULL, mention_count integer NOT NULL, PRIMARY KEY (user_id, channel_id))`,
  ];
}

/** Create the schema once; an advisory lock keeps two processes opening the same schema from racing. */
export async function migrate(client: PoolClient, schema: string, partitions: number): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`resound-storage:${schema}`]);
    for (const stmt of ddl(schema, partitions)) await client.query(stmt);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
