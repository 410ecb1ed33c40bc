/** Picks the datagram I/O path: SFU_IO forces one, `auto` takes batched where the addon loads and can bind. */
import { BatchedIo, loadUdpMmsgAddon, udpMmsgAddonError } from './batched-io.ts';
import { parseIpv4, type DatagramHandler, type DatagramIo, type IoChoice } from './datagram-io.ts';
import { DgramIo } from './dgram-io.ts';

export interface OpenedIo {
  io: DatagramIo;
  /** Why `auto` fell back to node:dgram (null when it did not, or when dgram was asked for). */
  fallbackReason: string | null;
}

export async function openDatagramIo(
  choice: IoChoice,
  address: string,
  port: number,
  handler: DatagramHandler,
  onError: (err: Error) => void,
): Promise<OpenedIo> {
  if (choice === 'dgram') return { io: await DgramIo.open(address, port, handler, onError), fallbackReason: null };
  const native = loadUdpMmsgAddon();
  let reason: string | null = null;
  if (!native) reason = `udp-mmsg addon unavailable: ${udpMmsgAddonError()}`;
  else if (Number.isNaN(parseIpv4(address))) reason = `bind address ${address} is not an IPv4 literal`;
  if (reason === null) return { io: new BatchedIo(native!, address, port, handler), fallbackReason: null };
  if (choice === 'batched') throw new Error(`SFU_IO=batched: ${reason}`);
  return { io: await DgramIo.open(address, port, handler, onError), fallbackReason: reason };
}
