// node-gyp for the repository's own addons, run from the root package's `install` script: nothing is downloaded
// (Node's headers come from beside the node binary), and a failed build never fails the install — each addon's
// caller says what falls back.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

/** Builds the addon in `dir` with node-gyp; true when it built. */
export function buildAddon(dir) {
  // npm passes its bundled node-gyp to lifecycle scripts; run by hand, look for the one beside this node's npm.
  const bundled = path.join(
    path.dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  const gyp = process.env.npm_config_node_gyp || bundled;
  const args = ['rebuild', '-C', dir];
  // Use the headers installed beside this node binary (e.g. /usr/include/node) instead of downloading them.
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r =
    gyp && existsSync(gyp)
      ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
      : spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}
