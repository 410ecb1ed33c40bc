/**
 * DTLS through the built mediasoup worker without a browser: two ICE-lite WebRtcTransports on one worker, joined by a
 * Node UDP relay that sends each one a STUN binding request (so each has a selected tuple) and then forwards every
 * datagram one transport sends to the other. Guards the Debian-OpenSSL build against the KTLS/BIO-callback SIGSEGV
 * that killed the worker on its first DTLS record (see scripts/setup-webrtc.mjs).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { crc32 } from 'node:zlib';
import type { types as ms } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/index.ts';
import { requireWorker } from './webrtc-helpers.ts';

function stunAttr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** An ICE binding request (RFC 8445) as a controlling agent nominating the pair: what a browser sends first. */
function bindingRequest(ice: ms.IceParameters): Buffer {
  const txId = randomBytes(12);
  const header = (length: number): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(0x2112a442, 4);
    txId.copy(h, 8);
    return h;
  };
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(1853817087);
  let attrs = Buffer.concat([
    stunAttr(0x0006, Buffer.from(`${ice.usernameFragment}:relay`)),
    stunAttr(0x0024, priority),
    stunAttr(0x802a, randomBytes(8)),
    stunAttr(0x0025, Buffer.alloc(0)),
  ]);
  const integrity = createHmac('sha1', ice.password)
    .update(Buffer.concat([header(attrs.length + 24), attrs]))
    .digest();
  attrs = Buffer.concat([attrs, stunAttr(0x0008, integrity)]);
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(Buffer.concat([header(attrs.length + 8), attrs])) ^ 0x5354554e) >>> 0);
  attrs = Buffer.concat([attrs, stunAttr(0x8028, fingerprint)]);
  return Buffer.concat([header(attrs.length), attrs]);
}

const isStun = (msg: Buffer): boolean => msg.length >= 20 && msg[0] < 2;

async function bindLoopback(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

describe('mediasoup worker DTLS (WebRtcTransport ⇄ WebRtcTransport over a relay)', () => {
  let worker: ms.Worker;
  let died: Error | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    await requireWorker(); // sets MEDIASOUP_WORKER_BIN before mediasoup loads
    const mediasoup = await import('mediasoup');
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    worker.on('died', (err: Error) => {
      died = err;
    });
  });

  afterAll(() => {
    for (const s of sockets) s.close();
    worker?.close();
  });

  it('completes the DTLS handshake both ways (worker as client and as server) and the worker survives', async () => {
    const router = await worker.createRouter({
      mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
    });
    const options = { listenInfos: [{ protocol: 'udp' as const, ip: '127.0.0.1' }], enableUdp: true, enableTcp: false };
    const client = await router.createWebRtcTransport(options);
    const server = await router.createWebRtcTransport(options);
    const [toClient, toServer] = [await bindLoopback(), await bindLoopback()];
    sockets.push(toClient, toServer);
    const clientPort = client.iceCandidates[0].port;
    const serverPort = server.iceCandidates[0].port;
    toClient.on('message', (msg) => {
      if (!isStun(msg)) toServer.send(msg, serverPort, '127.0.0.1');
    });
    toServer.on('message', (msg) => {
      if (!isStun(msg)) toClient.send(msg, clientPort, '127.0.0.1');
    });
    toClient.send(bindingRequest(client.iceParameters), clientPort, '127.0.0.1');
    toServer.send(bindingRequest(server.iceParameters), serverPort, '127.0.0.1');
    await waitFor(() => client.iceState === 'completed' && server.iceState === 'completed');

    await server.connect({ dtlsParameters: { role: 'server', fingerprints: client.dtlsParameters.fingerprints } });
    await client.connect({ dtlsParameters: { role: 'client', fingerprints: server.dtlsParameters.fingerprints } });
    await waitFor(() => (client.dtlsState === 'connected' && server.dtlsState === 'connected') || died !== undefined);

    expect(died).toBeUndefined();
    expect([client.dtlsState, server.dtlsState]).toEqual(['connected', 'connected']);
    const stats = await server.getStats();
    expect(stats[0].dtlsState).toBe('connected');
  });
});
