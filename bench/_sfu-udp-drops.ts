/**
 * Copies that reached the load generator's unread receiver sockets (bench/sfu.ts): the kernel counts each datagram it
 * discarded because a socket's receive queue was full in /proc/net/udp's `drops` column, and an unread socket's queue
 * is full after the warm-up, so the rise of that count over a measurement is what arrived there, without the generator
 * paying a read per copy. Linux only (NaN elsewhere).
 */
import { readFileSync } from 'node:fs';

/** Sum of the `drops` counters of the IPv4 UDP sockets bound to 127.0.0.1 on `ports`. */
export function udpDrops(ports: ReadonlySet<number>): number {
  let text: string;
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return NaN;
  }
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const [address, portHex] = f[1].split(':');
    if (address !== '0100007F' || !ports.has(parseInt(portHex, 16))) continue;
    drops += Number(f[12]);
  }
  return drops;
}
