import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import {
  createRtpHeader,
  IP_DISCOVERY_LENGTH,
  isIpDiscoveryRequest,
  KEEPALIVE_LENGTH,
  looksLikeRtp,
  parseRtpHeader,
} from '../../sfu/index.ts';
import { deliveryOrder, type ImpairmentPlan } from './impairment.ts';

/** Datagrams sent back to back before yielding to the event loop, so no socket buffer on the path overflows. */
const BURST = 16;

interface ArmedCell {
  seqBase: number;
  plan: ImpairmentPlan;
  buffered: Array<Buffer | undefined>;
  waiting: number;
  timer: NodeJS.Timeout;
  done: () => void;
}

/**
 * A UDP middlebox at the network edge between one client and the SFU (a NAT with a bad uplink): everything passes
 * both ways, except the RTP packets of an armed cell, which it drops or reorders as the cell's plan says. It holds the
 * cell's surviving packets until all have arrived, then releases them in the plan's arrival order — the order a
 * jittery network would deliver them in — without waiting out the virtual delays themselves.
 */
export class ImpairmentRelay {
  private client: RemoteInfo | null = null;
  private cell: ArmedCell | null = null;
  private readonly header = createRtpHeader();

  private constructor(
    private readonly edge: Socket,
    private readonly upstream: Socket,
    private readonly target: { address: string; port: number },
  ) {
    edge.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    upstream.on('message', (msg) => {
      if (this.client) this.edge.send(msg, this.client.port, this.client.address);
    });
  }

  static async create(target: { address: string; port: number }): Promise<ImpairmentRelay> {
    const open = async () => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    return new ImpairmentRelay(await open(), await open(), target);
  }

  /** The port a client sends to instead of the SFU's. */
  get port(): number {
    return this.edge.address().port;
  }

  /**
   * Applies `plan` to the next `plan.drop.length` RTP packets starting at sequence `seqBase`. Resolves once they have
   * been released towards the SFU (or after `timeoutMs`, releasing whatever arrived).
   */
  arm(seqBase: number, plan: ImpairmentPlan, timeoutMs = 2000): Promise<void> {
    if (this.cell) throw new Error('relay: a cell is already armed');
    let waiting = 0;
    for (const d of plan.drop) if (!d) waiting++;
    return new Promise((resolve) => {
      const cell: ArmedCell = {
        seqBase,
        plan,
        buffered: new Array<Buffer | undefined>(plan.drop.length).fill(undefined),
        waiting,
        timer: setTimeout(() => void this.release(cell), timeoutMs),
        done: resolve,
      };
      this.cell = cell;
      if (waiting === 0) void this.release(cell);
    });
  }

  close(): void {
    if (this.cell) clearTimeout(this.cell.timer);
    this.edge.close();
    this.upstream.close();
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    this.client = rinfo;
    const cell = this.cell;
    const len = msg.length;
    // Classify by content, not length alone: a 74-byte RTP packet is not IP discovery.
    const control = len === KEEPALIVE_LENGTH || (len === IP_DISCOVERY_LENGTH && isIpDiscoveryRequest(msg, len));
    if (cell && !control && looksLikeRtp(msg, len) && parseRtpHeader(msg, len, this.header)) {
      const idx = (this.header.sequence - cell.seqBase) & 0xffff;
      if (idx < cell.plan.drop.length) {
        if (cell.plan.drop[idx] || cell.buffered[idx]) return;
        cell.buffered[idx] = msg;
        if (--cell.waiting === 0) void this.release(cell);
        return;
      }
    }
    this.upstream.send(msg, this.target.port, this.target.address);
  }

  private async release(cell: ArmedCell): Promise<void> {
    if (this.cell !== cell) return;
    this.cell = null;
    clearTimeout(cell.timer);
    let sent = 0;
    let stall = cell.plan.stall ?? null;
    for (const i of deliveryOrder(cell.plan)) {
      const msg = cell.buffered[i];
      if (!msg) continue;
      if (stall && i >= stall.at) {
        // A jitter spike: the SFU must see the gap in real time, as it would on a live path.
        await new Promise<void>((r) => setTimeout(r, stall!.ms));
        stall = null;
      }
      this.upstream.send(msg, this.target.port, this.target.address);
      if (++sent % BURST === 0) await new Promise<void>((r) => setImmediate(r));
    }
    cell.done();
  }
}
