// Builds the AES-256-GCM addon from the root package's `install` script. A failed build never fails the install:
// sfu/crypto falls back to node:crypto (slower) and offers XChaCha20-Poly1305 first instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
/* global console */

const here = path.dirname(fileURLToPath(import.meta.url));
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
const args = ['rebuild', '-C', here];
// Use the headers installed beside this node binary (e.g. /usr/include/node) instead of downloading them.
const prefix = path.dirname(path.dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r =
  gyp && existsSync(gyp)
    ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
    : spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn(
    'aead-gcm addon not built; AES-256-GCM falls back to node:crypto and XChaCha20-Poly1305 is offered first',
  );
}
