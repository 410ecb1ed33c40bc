/**
 * A ring of preallocated datagram buffers. `dgram.send` may queue a buffer inside libuv when the socket would block,
 * so a single reused buffer could be overwritten before it leaves; a ring large enough to outlast the kernel queue
 * keeps the send path allocation-free without that hazard.
 */
export class SendRing {
  private readonly buffers: Buffer[];
  private index = 0;

  constructor(slots = 4096, slotBytes = 1500) {
    const slab = Buffer.allocUnsafeSlow(slots * slotBytes);
    this.buffers = Array.from({ length: slots }, (_, i) => slab.subarray(i * slotBytes, (i + 1) * slotBytes));
  }

  next(): Buffer {
    const b = this.buffers[this.index];
    this.index = (this.index + 1) % this.buffers.length;
    return b;
  }
}
