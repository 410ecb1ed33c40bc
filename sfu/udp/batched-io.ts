/**
 * The batched path: native/udp-mmsg owns the socket; when libuv says it is readable the addon drains it with
 * recvmmsg into `recvSlab` and calls `onBatch(n)` once. The rules run over the n slots; every copy they send is sealed
 * straight into `sendSlab` and the lot leaves with one sendmmsg when the batch is done (or the send slab is full).
 * Sends from outside a receive batch (silence synthesis on the tick, signaling) are flushed on the microtask queue.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import path from 'node:path';
import type { DatagramHandler, DatagramIo, RemoteAddress, SendOwner } from './datagram-io.ts';
import { formatIpv4, MAX_DATAGRAM_BYTES, parseIpv4, SEND_SLOT_BYTES } from './datagram-io.ts';

/** Shape of native/udp-mmsg/udp_mmsg.c's exports. */
interface UdpMmsgAddon {
  open(
    address: string,
    port: number,
    rcvbuf: number,
    sndbuf: number,
    recvSlab: Uint8Array,
    recvMeta: Uint32Array,
    batch: number,
    slot: number,
    sendCapacity: number,
    sendSlot: number,
    onBatch: (n: number) => void,
  ): object;
  localPort(handle: object): number;
  send(handle: object, slab: Uint8Array, meta: Uint32Array, count: number, status: Int32Array): number;
  overflow(handle: object): number;
  close(handle: object): void;
}

export const UDP_MMSG_ADDON_PATH = path.resolve(
  import.meta.dirname,
  '../../native/udp-mmsg/build/Release/udp_mmsg.node',
);
/** Datagrams per recvmmsg; a batch is whatever the socket holds, up to this. */
export const RECEIVE_BATCH = 64;
/** Copies per sendmmsg; a receive batch that fans out to more is sent in several calls. */
export const SEND_BATCH = 512;
const META = 4;
/** errno number → name (EAGAIN, ENOBUFS, …), for drop logs and for the bind error a taken port raises. */
const ERRNO = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

let addon: UdpMmsgAddon | null | undefined;
let addonError: string | null = null;

/** The addon, or null where it was not built (another OS, a failed build) or does not load. */
export function loadUdpMmsgAddon(): UdpMmsgAddon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(UDP_MMSG_ADDON_PATH) as UdpMmsgAddon;
  } catch (err) {
    addon = null;
    addonError = err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
  return addon;
}

/** Why the addon is unavailable, or null when it loaded. */
export function udpMmsgAddonError(): string | null {
  loadUdpMmsgAddon();
  return addonError;
}

export class BatchedIo implements DatagramIo {
  readonly path = 'batched';
  readonly stats = { receiveCalls: 0, sendCalls: 0 };
  readonly port: number;
  private readonly handle: object;
  private readonly recvSlab = new Uint8Array(RECEIVE_BATCH * MAX_DATAGRAM_BYTES);
  private readonly recvMeta = new Uint32Array(RECEIVE_BATCH * META);
  private readonly recvViews: Uint8Array[];
  private readonly sendSlab = new Uint8Array(SEND_BATCH * SEND_SLOT_BYTES);
  private readonly sendMeta = new Uint32Array(SEND_BATCH * META);
  private readonly sendStatus = new Int32Array(SEND_BATCH);
  private readonly sendViews: Uint8Array[];
  private readonly owners: (SendOwner | null)[] = new Array<SendOwner | null>(SEND_BATCH).fill(null);
  /** IPv4 strings by number: a handful of peers, so the rules compare strings without building one per datagram. */
  private readonly names = new Map<number, string>();
  /** And back, for the destinations of sent copies. */
  private readonly numbers = new Map<string, number>();
  private pending = 0;
  private inBatch = false;
  private flushQueued = false;
  private closed = false;
  private readonly flushTask = () => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    private readonly native: UdpMmsgAddon,
    address: string,
    port: number,
    private readonly handler: DatagramHandler,
  ) {
    this.recvViews = Array.from({ length: RECEIVE_BATCH }, (_, i) =>
      this.recvSlab.subarray(i * MAX_DATAGRAM_BYTES, (i + 1) * MAX_DATAGRAM_BYTES),
    );
    this.sendViews = Array.from({ length: SEND_BATCH }, (_, i) =>
      this.sendSlab.subarray(i * SEND_SLOT_BYTES, (i + 1) * SEND_SLOT_BYTES),
    );
    this.handle = withCode(() =>
      native.open(
        address,
        port,
        4 << 20,
        4 << 20,
        this.recvSlab,
        this.recvMeta,
        RECEIVE_BATCH,
        MAX_DATAGRAM_BYTES,
        SEND_BATCH,
        SEND_SLOT_BYTES,
        (n) => this.onBatch(n),
      ),
    );
    this.port = native.localPort(this.handle);
  }

  private onBatch(n: number): void {
    this.stats.receiveCalls++;
    const meta = this.recvMeta;
    this.inBatch = true;
    try {
      for (let i = 0; i < n; i++) {
        const ip = meta[i * META + 1];
        let name = this.names.get(ip);
        if (name === undefined) {
          // Bounded: a flood from many spoofed sources must not grow it without end.
          if (this.names.size > 4096) this.names.clear();
          name = formatIpv4(ip);
          this.names.set(ip, name);
        }
        this.handler.datagram(this.recvViews[i], meta[i * META], name, meta[i * META + 2]);
        if (this.closed) return;
      }
    } finally {
      this.inBatch = false;
    }
    this.flush();
  }

  sendBuffer(): Uint8Array {
    if (this.pending === SEND_BATCH) this.flush();
    return this.sendViews[this.pending];
  }

  send(buf: Uint8Array, length: number, remote: RemoteAddress, owner: SendOwner | null): void {
    if (this.closed) return;
    const i = this.pending;
    if (buf !== this.sendViews[i]) throw new Error('send() takes the buffer sendBuffer() returned');
    let ip = this.numbers.get(remote.address);
    if (ip === undefined) {
      if (this.numbers.size > 4096) this.numbers.clear();
      ip = parseIpv4(remote.address);
      this.numbers.set(remote.address, ip);
    }
    if (Number.isNaN(ip)) {
      owner?.sendFailed('EAFNOSUPPORT');
      return;
    }
    const m = i * META;
    this.sendMeta[m] = length;
    this.sendMeta[m + 1] = ip;
    this.sendMeta[m + 2] = remote.port;
    this.owners[i] = owner;
    this.pending = i + 1;
    if (!this.inBatch && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** One sendmmsg for everything queued; a copy the kernel refused is charged to its receiver alone. */
  flush(): void {
    const n = this.pending;
    if (n === 0 || this.closed) return;
    this.pending = 0;
    this.stats.sendCalls++;
    const ok = this.native.send(this.handle, this.sendSlab, this.sendMeta, n, this.sendStatus);
    const owners = this.owners;
    if (ok !== n) {
      for (let i = 0; i < n; i++) {
        const e = this.sendStatus[i];
        if (e !== 0) owners[i]?.sendFailed(ERRNO.get(e) ?? `errno ${e}`);
      }
    }
    owners.fill(null, 0, n);
  }

  receiveQueueOverflows(): number {
    return this.native.overflow(this.handle);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.native.close(this.handle);
  }
}

/** The addon throws with a numeric `errno`; name it as node does (`code: 'EADDRINUSE'`), which callers test for. */
function withCode<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.errno === 'number' && e.code === undefined) e.code = ERRNO.get(e.errno);
    throw err;
  }
}
