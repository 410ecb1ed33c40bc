import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DetectResult } from './types.ts';

/** What a route needs to know about an uploaded asset without reading the original's bytes. */
export interface OriginRef {
  /** sha256 of the original, hex; the content address. */
  hash: string;
  kind: 'attachment' | 'emoji' | 'avatar';
  filename?: string;
  uploadedAt: string;
  detect: DetectResult;
}

/**
 * Where originals live. Originals are content-addressed (sha256), so uploading the same bytes twice stores them once;
 * refs map Discord-shaped ids (attachments/<channel>/<id>, emojis/<id>, avatars/<user>/<hash>) to a hash.
 */
export interface OriginStore {
  put(data: Uint8Array): Promise<string>;
  get(hash: string): Promise<Buffer | undefined>;
  putRef(key: string, ref: OriginRef): Promise<void>;
  getRef(key: string): Promise<OriginRef | undefined>;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const HASH = /^[0-9a-f]{64}$/;
/** Ref keys are built from validated ids only; this is the last line against path traversal. */
const REF_KEY = /^[a-z]+(\/[A-Za-z0-9_.-]{1,128}){1,3}$/;

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** Refs are written once and read on every request; this many stay in memory. */
const REF_MEMO = 10_000;

export class FsOriginStore implements OriginStore {
  private readonly refs = new Map<string, OriginRef>();
  constructor(readonly dir: string) {}

  private objectPath(hash: string): string {
    return path.join(this.dir, 'objects', hash.slice(0, 2), hash);
  }

  async put(data: Uint8Array): Promise<string> {
    const hash = sha256(data);
    const file = this.objectPath(hash);
    try {
      await fs.access(file);
    } catch {
      await writeAtomic(file, data);
    }
    return hash;
  }

  async get(hash: string): Promise<Buffer | undefined> {
    if (!HASH.test(hash)) return undefined;
    try {
      return await fs.readFile(this.objectPath(hash));
    } catch {
      return undefined;
    }
  }

  async putRef(key: string, ref: OriginRef): Promise<void> {
    if (!REF_KEY.test(key) || key.includes('..')) throw new Error(`invalid ref key ${key}`);
    await writeAtomic(path.join(this.dir, 'refs', `${key}.json`), JSON.stringify(ref));
    this.refs.delete(key);
  }

  async getRef(key: string): Promise<OriginRef | undefined> {
    if (!REF_KEY.test(key) || key.includes('..')) return undefined;
    const memo = this.refs.get(key);
    if (memo) return memo;
    let ref: OriginRef;
    try {
      ref = JSON.parse(await fs.readFile(path.join(this.dir, 'refs', `${key}.json`), 'utf8')) as OriginRef;
    } catch {
      return undefined;
    }
    if (this.refs.size >= REF_MEMO) this.refs.delete(this.refs.keys().next().value as string);
    this.refs.set(key, ref);
    return ref;
  }
}
