import { execFile } from 'node:child_process';

/**
 * Marks `dir` as the top of a directory hierarchy (ext2/3/4's `T` attribute, `chattr +T`), so the Orlov allocator
 * spreads the subdirectories made inside it afterwards over the filesystem's block groups instead of packing them into
 * `dir`'s own group. For the result cache's 256 shards this matters: ext4 without a journal skips every inode deleted
 * in the last minutes when it allocates a new one, and a group churned by evictions (or by anything else deleting
 * files there) made each result file's create cost 0.4–0.9 ms of CPU here, against ~40 µs with the shards spread.
 * `chattr` (e2fsprogs, present on every Debian system) because Node has no ioctl; on any other filesystem, without
 * the binary or without permission it does nothing and resolves false.
 */
export function markHierarchyTop(dir: string, chattr = 'chattr'): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(chattr, ['+T', dir], { timeout: 5000 }, (err) => resolve(!err));
  });
}
