// Builds the batched datagram I/O addon from the root package's `install` script. Linux only (recvmmsg/sendmmsg with
// SO_RXQ_OVFL); elsewhere, or when the build fails, the install still succeeds and the SFU runs on node:dgram
// (the start-up log and resound_sfu_io{path="dgram"} say so).
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { buildAddon } from '../build-addon.mjs';
/* global console */

if (process.platform !== 'linux') {
  console.warn(`udp-mmsg addon not built on ${process.platform}; the SFU uses node:dgram`);
} else if (!buildAddon(path.dirname(fileURLToPath(import.meta.url)))) {
  console.warn('udp-mmsg addon not built; the SFU uses node:dgram');
}
