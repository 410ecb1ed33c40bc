/**
 * The portable path: node:dgram, one 'message' event per datagram and one send per copy. A send that fails reaches
 * its owner through the per-owner callback (node:dgram reports send errors only to a callback).
 */
import dgram, { type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { DatagramHandler, DatagramIo, RemoteAddress, SendOwner } from './datagram-io.ts';
import { SEND_SLOT_BYTES } from './datagram-io.ts';
import { SendRing } from './send-ring.ts';

type SendCallback = (err: Error | null) => void;

export class DgramIo implements DatagramIo {
  readonly path = 'dgram';
  readonly stats = { receiveCalls: 0, sendCalls: 0 };
  private readonly ring = new SendRing(4096, SEND_SLOT_BYTES);
  /** One callback per owner, made once, so a send allocates no closure. */
  private readonly callbacks = new WeakMap<SendOwner, SendCallback>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async open(address: string, port: number, handler: DatagramHandler, onError: (err: Error) => void) {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const io = new DgramIo(socket, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      io.stats.receiveCalls++;
      handler.datagram(msg, msg.length, rinfo.address, rinfo.port);
    });
    socket.on('error', onError);
    return io;
  }

  sendBuffer(): Uint8Array {
    return this.ring.next();
  }

  send(buf: Uint8Array, length: number, remote: RemoteAddress, owner: SendOwner | null): void {
    this.stats.sendCalls++;
    if (!owner) {
      this.socket.send(buf, 0, length, remote.port, remote.address);
      return;
    }
    let cb = this.callbacks.get(owner);
    if (!cb) {
      cb = (err) => {
        if (err) owner.sendFailed((err as NodeJS.ErrnoException).code ?? 'EIO');
      };
      this.callbacks.set(owner, cb);
    }
    this.socket.send(buf, 0, length, remote.port, remote.address, cb);
  }

  receiveQueueOverflows(): number {
    return socketDrops(this.port);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * The kernel's drop counter of the IPv4 UDP socket(s) bound to `port` (last column of /proc/net/udp), read at scrape
 * time; 0 where /proc is not there. node:dgram cannot ask for SO_RXQ_OVFL, so this is its overflow figure.
 */
export function socketDrops(port: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return 0;
  }
  const want = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || f[1].split(':')[1] !== want) continue;
    drops += Number(f[12]) || 0;
  }
  return drops;
}
