import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `data` to a unique temporary name in the target's folder, fsyncs it, then renames it over the target: a
 * reader (or a retried job after a crash) sees either no file or the whole file, never a torn one. Rename within one
 * folder is atomic on POSIX filesystems, NFS included.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Leftover temp files of a process killed between open and rename; safe to delete once no writer is running. */
export async function sweepTempFiles(dir: string): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await fs.readdir(dir, { recursive: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (/^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(path.basename(e))) {
      await fs.rm(path.join(dir, e), { force: true });
      removed++;
    }
  }
  return removed;
}
