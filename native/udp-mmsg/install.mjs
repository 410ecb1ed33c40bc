// Builds the batched datagram I/O addon from the root package's `install` script. Linux only (recvmmsg/sendmmsg with
// SO_RXQ_OVFL); elsewhere, or when the build fails, the install still succeeds and the SFU runs on node:dgram
// (the start-up log and resound_sfu_io{path="dgram"} say so).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
/* global console */

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.platform !== 'linux') {
  console.warn(`udp-mmsg addon not built on ${process.platform}; the SFU uses node:dgram`);
  process.exit(0);
}
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
    : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (r.status !== 0) console.warn('udp-mmsg addon not built; the SFU uses node:dgram');
