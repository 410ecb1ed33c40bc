import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Router, SfuMetrics, Transport, inboundFrame, type OutgoingFrame } from '../../sfu/index.ts';
import { DaveMediaGate } from '../../signaling/dave/index.ts';
import { SimNet, userId } from '../../testkit/index.ts';

interface Sent {
  sequence: number;
  payload: Buffer;
}

/** A transport that records what the router sends it (the router under test is real). */
class Recorder extends Transport {
  readonly kind = 'recorder';
  readonly sent: Sent[] = [];
  send(f: OutgoingFrame): void {
    this.sent.push({
      sequence: f.sequence,
      payload: Buffer.from(f.data.subarray(f.offset, f.offset + f.payloadLength)),
    });
  }
  protected release(): void {}
}

let nextSsrc = 1;
const recorder = (router: Router): { transport: Recorder; sent: Sent[] } => {
  const transport = router.adoptTransport(new Recorder(nextSsrc++));
  return { transport, sent: transport.sent };
};

const OPUS = Buffer.from('fc00112233445566778899', 'hex');
const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

describe('DaveMediaGate in the SFU router', () => {
  it('E2EE frames reach only members, plain frames of a pending sender never reach members, no gaps', () => {
    const net = new SimNet();
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const p = net.join(userId());
    // Deliver up to P's key package: P is pending, its Add is on its way to A and B.
    while (net.queue.length > 0) {
      const item = net.queue.shift()!;
      net.step(item);
      if (item.dir === 'up' && item.msg.kind === 'kp' && item.msg.from === p.userId) break;
    }
    const router = new Router('r', new SfuMetrics(new Registry()), pino({ level: 'silent' }));
    const recA = recorder(router);
    const recB = recorder(router);
    const recP = recorder(router);
    const pa = router.addParticipant(a.userId, recA.transport);
    router.addParticipant(b.userId, recB.transport);
    const pp = router.addParticipant(p.userId, recP.transport);
    router.setGate(new DaveMediaGate(net.group));
    expect(net.group.mediaRole(p.userId)).toBe('pending');

    const e2ee = a.encrypt(OPUS);
    const frame = (seq: number, data: Buffer) => inboundFrame(data, seq, seq * 960);
    // A (member) sends: E2EE, E2EE, silence. B gets all three; P (pending) only the silence, renumbered without gap.
    router.forward(pa, frame(100, e2ee), 0);
    router.forward(pa, frame(101, e2ee), 0);
    router.forward(pa, frame(102, SILENCE), 0);
    expect(recB.sent.map((s) => s.sequence)).toEqual([100, 101, 102]);
    expect(recP.sent.map((s) => s.payload)).toEqual([SILENCE]);
    // P (pending) sends plain Opus: dropped for members A and B; then silence, which passes with contiguous numbers.
    router.forward(pp, frame(500, OPUS), 0);
    router.forward(pp, frame(501, OPUS), 0);
    router.forward(pp, frame(502, SILENCE), 0);
    for (const r of [recA, recB]) {
      const fromP = r.sent.filter((s) => s.payload.equals(SILENCE) || s.payload.equals(OPUS)).slice(-1);
      expect(fromP.map((s) => s.payload)).toEqual([SILENCE]);
    }
    const aFromP = recA.sent.at(-1)!;
    router.forward(pp, frame(503, SILENCE), 0);
    expect(recA.sent.at(-1)!.sequence).toBe((aFromP.sequence + 1) & 0xffff);
    // Once P is a member, its E2EE frames reach everyone.
    net.pump();
    expect(net.group.mediaRole(p.userId)).toBe('member');
    router.forward(pp, frame(504, p.encrypt(OPUS)), 0);
    expect(recA.sent.at(-1)!.payload.subarray(-2)).toEqual(Buffer.from([0xfa, 0xfa]));
    expect(recA.sent.at(-1)!.sequence).toBe((aFromP.sequence + 2) & 0xffff);
    expect(net.metrics.firstFrames.length).toBeGreaterThanOrEqual(2);
    router.close();
  });

  /** A version-0 call (DAVE off): A sends one frame through a gated router; what does B receive? */
  const throughPlainCall = (payload: Buffer): Buffer[] => {
    const net = new SimNet(undefined, 'off');
    const [a, b] = [net.join(userId()), net.join(userId())];
    net.pump();
    const router = new Router('r', new SfuMetrics(new Registry()), pino({ level: 'silent' }));
    const recB = recorder(router);
    const pa = router.addParticipant(a.userId, recorder(router).transport);
    router.addParticipant(b.userId, recB.transport);
    router.setGate(new DaveMediaGate(net.group));
    router.forward(pa, inboundFrame(payload, 7), 0);
    router.close();
    return recB.sent.map((s) => s.payload);
  };

  it('a plain frame that happens to end in FA FA is still plain when its sender is not a member', () => {
    const lookalike = Buffer.from('fc0011223344fafa', 'hex');
    expect(throughPlainCall(lookalike)).toEqual([lookalike]);
  });

  it('without DAVE (version-0 call) every frame passes', () => {
    expect(throughPlainCall(OPUS)).toEqual([OPUS]);
  });
});
