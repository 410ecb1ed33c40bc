import { describe, expect, it } from 'vitest';
import Davey from '@snazzah/davey';
import { createRng, seedFrom } from '../../common/rng.ts';
import { TlsReader, TlsWriter, encodeVarint, MlsDecodeError } from '../../signaling/dave/tls-codec.ts';
import {
  keyPackageRef,
  parseCommitWelcome,
  parseKeyPackage,
  parseWelcome,
  splitProposalMessages,
  validateKeyPackage,
} from '../../signaling/dave/mls-codec.ts';
import { ExternalSender, appendPayload, groupIdFor, revokePayload } from '../../signaling/dave/external-sender.ts';

const CHANNEL = '1111111111111111111';
const NOW = BigInt(Math.floor(Date.now() / 1000));

/** Only MlsDecodeError may escape a parser, whatever the input. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MlsDecodeError);
  }
}

function twoMemberCommit() {
  const sender = new ExternalSender();
  const a = new Davey.DAVESession(1, '111', CHANNEL);
  const b = new Davey.DAVESession(1, '222', CHANNEL);
  a.setExternalSender(sender.op25Payload);
  b.setExternalSender(sender.op25Payload);
  const kpB = b.getSerializedKeyPackage();
  const add = sender.propose(groupIdFor(CHANNEL), 0n, { type: 'add', keyPackage: kpB });
  const { commit, welcome } = a.processProposals(
    Davey.ProposalsOperationType.APPEND,
    appendPayload([add.message]).subarray(1),
    ['222'],
  );
  return { sender, a, b, kpB, add, commit: commit!, welcome: welcome! };
}

describe('TLS varints', () => {
  it.each([
    [0, '00'],
    [63, '3f'],
    [64, '4040'],
    [16383, '7fff'],
    [16384, '80004000'],
    [0x3fffffff, 'bfffffff'],
  ])('encodes %i minimally and reads it back', (n, hex) => {
    expect(encodeVarint(n).toString('hex')).toBe(hex);
    const r = new TlsReader(Buffer.from(hex, 'hex'));
    expect(r.varint()).toBe(n);
    r.expectEnd('varint');
  });

  it('rejects values past 30 bits when encoding (a caller bug)', () => {
    expect(() => encodeVarint(0x40000000)).toThrow(RangeError);
    expect(() => encodeVarint(-1)).toThrow(RangeError);
  });

  it.each([
    ['4001', 'bad_varint'], // 1 in two bytes: not minimal
    ['80000001', 'bad_varint'], // 1 in four bytes
    ['80003fff', 'bad_varint'],
    ['c0', 'bad_varint'], // reserved prefix
    ['40', 'truncated'],
    ['8000', 'truncated'],
    ['', 'truncated'],
  ])('rejects %s with a typed %s error', (hex, code) => {
    const r = new TlsReader(Buffer.from(hex, 'hex'));
    expect(() => r.varint()).toThrow(MlsDecodeError);
    try {
      new TlsReader(Buffer.from(hex, 'hex')).varint();
    } catch (err) {
      expect((err as MlsDecodeError).code).toBe(code);
    }
  });

  it('round-trips integers and vectors, and a vector cannot claim more bytes than exist', () => {
    const big = Buffer.alloc(20000, 7);
    const buf = new TlsWriter()
      .u8(255)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .u64(0xfffffffffffffffen)
      .vec(Buffer.from('hi'))
      .vec(big)
      .finish();
    const r = new TlsReader(buf);
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([255, 0xbeef, 0xdeadbeef, 0xfffffffffffffffen]);
    expect(r.vec().toString()).toBe('hi');
    expect(r.vec().equals(big)).toBe(true);
    r.expectEnd('all');
    expect(() => new TlsReader(Buffer.from([5, 1, 2])).vec()).toThrow(/needs 5 bytes/);
  });
});

describe('MLS structures against davey', () => {
  it('parses and validates a davey key package; the credential is the user id', () => {
    const s = new Davey.DAVESession(1, '222', CHANNEL);
    const kp = parseKeyPackage(s.getSerializedKeyPackage());
    expect(kp.cipherSuite).toBe(2);
    expect(kp.leafNode.identity.readBigUInt64BE(0)).toBe(222n);
    expect(validateKeyPackage(kp, 222n, NOW)).toBeNull();
    expect(validateKeyPackage(kp, 333n, NOW)).toBe('bad_credential');
  });

  it('detects a tampered key package signature', () => {
    const raw = Buffer.from(new Davey.DAVESession(1, '222', CHANNEL).getSerializedKeyPackage());
    const kp = parseKeyPackage(raw);
    const off = raw.indexOf(kp.initKey) + 5;
    raw[off] ^= 1; // inside init_key: covered by the key package signature
    expect(validateKeyPackage(parseKeyPackage(raw), 222n, NOW)).toBe('bad_signature');
  });

  it('every truncation and bit flip of a key package yields a typed error or a parse', () => {
    const raw = Buffer.from(new Davey.DAVESession(1, '222', CHANNEL).getSerializedKeyPackage());
    for (let n = 0; n < raw.length; n++) onlyTypedErrors(() => parseKeyPackage(raw.subarray(0, n)));
    for (let i = 0; i < raw.length; i += 3) {
      const copy = Buffer.from(raw);
      copy[i] ^= 0x80;
      onlyTypedErrors(() => validateKeyPackage(parseKeyPackage(copy), 222n, NOW));
    }
    expect(() => parseKeyPackage(Buffer.concat([raw, Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('our proposal refs are the refs inside davey commits, and the Welcome splits off exactly', () => {
    const { add, commit, welcome, kpB } = twoMemberCommit();
    const parsed = parseCommitWelcome(Buffer.concat([commit, welcome]));
    expect(parsed.proposalRefs.map((r) => r.toString('hex'))).toEqual([add.ref.toString('hex')]);
    expect(parsed.epoch).toBe(0n);
    expect(parsed.senderLeaf).toBe(0);
    expect(parsed.groupId).toEqual(groupIdFor(CHANNEL));
    expect(parsed.commitMessage.equals(commit)).toBe(true);
    expect(parsed.welcome!.equals(welcome)).toBe(true);
    if (parsed.pathLeaf) expect(parsed.pathLeaf.identity.readBigUInt64BE(0)).toBe(111n);
    expect(parseWelcome(welcome).newMembers.map((r) => r.toString('hex'))).toEqual([
      keyPackageRef(kpB).toString('hex'),
    ]);
  });

  it('every truncation of an op 28 payload yields a typed error', () => {
    const { commit, welcome } = twoMemberCommit();
    const full = Buffer.concat([commit, welcome]);
    for (let n = 0; n < full.length; n += 1) {
      if (n === commit.length) continue; // commit alone is valid
      onlyTypedErrors(() => parseCommitWelcome(full.subarray(0, n)));
    }
    // Seeded, so a failing input is the same on every run and machine.
    const rng = createRng(seedFrom('mls-codec', 'op28-fuzz'));
    for (let i = 0; i < 2000; i++)
      onlyTypedErrors(() => parseCommitWelcome(Buffer.from(Array.from({ length: i % 300 }, () => (rng() * 256) | 0))));
  });

  it('signed external proposals split back out of an op 27 vector; revoke and op 25 layouts', () => {
    const sender = new ExternalSender();
    const kp = new Davey.DAVESession(1, '222', CHANNEL).getSerializedKeyPackage();
    const add = sender.propose(groupIdFor(CHANNEL), 0n, { type: 'add', keyPackage: kp });
    const rem = sender.propose(groupIdFor(CHANNEL), 3n, { type: 'remove', leafIndex: 2 });
    const payload = appendPayload([add.message, rem.message]);
    expect(payload[0]).toBe(0);
    const r = new TlsReader(payload, 1);
    const parts = splitProposalMessages(r.vec());
    expect(parts.map((p) => p.equals(add.message) || p.equals(rem.message))).toEqual([true, true]);
    const rv = revokePayload([add.ref, rem.ref]);
    expect(rv[0]).toBe(1);
    expect(rv.length).toBe(1 + 2 + 2 * 33); // 66 bytes need a 2-byte varint
    expect(sender.op25Payload.length).toBe(2 + 65 + 2 + 1 + 1); // 65 needs a 2-byte varint
  });
});
