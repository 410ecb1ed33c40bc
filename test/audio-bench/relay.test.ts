import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImpairmentRelay } from '../../bench/audio/index.ts';

function rtp(seq: number, size = 60): Buffer {
  const b = Buffer.alloc(size);
  b[0] = 0x80;
  b[1] = 0x78;
  b.writeUInt16BE(seq, 2);
  return b;
}

describe('impairment relay', () => {
  const sink = dgram.createSocket('udp4');
  const client = dgram.createSocket('udp4');
  const seen: Buffer[] = [];
  let relay: ImpairmentRelay;

  beforeAll(async () => {
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    sink.on('message', (m) => seen.push(m));
    relay = await ImpairmentRelay.create({ address: '127.0.0.1', port: sink.address().port });
  });
  afterAll(() => {
    relay.close();
    sink.close();
    client.close();
  });

  it('drops and reorders an armed cell by its plan and passes everything else through', async () => {
    // Frame 2 lost; frame 3 delayed past frame 4; sequence numbers wrap inside the cell.
    const plan = { drop: Uint8Array.from([0, 0, 1, 0, 0, 0]), delayMs: Float64Array.from([20, 20, 20, 45, 20, 20]) };
    const base = 65534;
    const released = relay.arm(base, plan);
    // A 74-byte RTP packet is media, not IP discovery; an 8-byte keepalive always passes.
    for (let i = 0; i < 6; i++) client.send(rtp((base + i) & 0xffff, i === 1 ? 74 : 60), relay.port, '127.0.0.1');
    await released;
    client.send(Buffer.alloc(8), relay.port, '127.0.0.1');
    client.send(rtp(7), relay.port, '127.0.0.1');
    const deadline = Date.now() + 2000;
    while (seen.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const seqs = seen.filter((m) => m.length >= 12).map((m) => m.readUInt16BE(2));
    expect(seqs).toEqual([65534, 65535, 2, 1, 3, 7]);
    expect(seen.some((m) => m.length === 8)).toBe(true);
  });
});
