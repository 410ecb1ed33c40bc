/**
 * Child program of `bench/proxy.ts`: ipx (the peer) serving IPX_DIR over HTTP on an ephemeral loopback port. Prints
 * one JSON line `{"url":…}` once listening; exits on SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIPX, createIPXNodeServer, ipxFSStorage } from 'ipx';

const dir = process.env.IPX_DIR;
if (!dir) throw new Error('IPX_DIR is required');
const ipx = createIPX({ storage: ipxFSStorage({ dir }) });
const srv = http.createServer(createIPXNodeServer(ipx)).listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }));
});
process.on('SIGTERM', () => process.exit(0));
