/**
 * RFC 9420 §2.1 TLS presentation language primitives: big-endian integers and `<V>` vectors with the MLS
 * variable-length size prefix. The reader is total: any truncation, overlong size or non-minimal varint becomes a
 * typed `MlsDecodeError`, never a raw RangeError, so callers can map it to a close code.
 */

export type MlsDecodeErrorCode =
  | 'truncated'
  | 'bad_varint'
  | 'trailing_bytes'
  | 'bad_version'
  | 'bad_wire_format'
  | 'bad_ciphersuite'
  | 'bad_sender'
  | 'bad_content_type'
  | 'bad_credential'
  | 'bad_leaf_node'
  | 'bad_proposal'
  | 'bad_welcome';

export class MlsDecodeError extends Error {
  constructor(
    readonly code: MlsDecodeErrorCode,
    message: string,
    readonly offset = -1,
  ) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message);
    this.name = 'MlsDecodeError';
  }
}

/** Largest length the MLS varint can carry (30 bits). */
export const MAX_VARINT = 0x3fffffff;

export class TlsReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    offset = 0,
    private readonly end = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos)
      throw new MlsDecodeError('truncated', `${what}: needs ${n} bytes, ${this.end - this.pos} left`, this.pos);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  u64(what = 'u64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** RFC 9420 §2.1.2: 2-bit length prefix, minimal encoding required, prefix 0b11 invalid. */
  varint(what = 'varint'): number {
    const start = this.pos;
    const first = this.u8(what);
    const prefix = first >> 6;
    if (prefix === 0) return first & 0x3f;
    if (prefix === 1) {
      const v = ((first & 0x3f) << 8) | this.u8(what);
      if (v < 0x40) throw new MlsDecodeError('bad_varint', `${what}: non-minimal 2-byte varint ${v}`, start);
      return v;
    }
    if (prefix === 2) {
      this.need(3, what);
      const b = this.buf;
      const v = (first & 0x3f) * 0x1000000 + ((b[this.pos] << 16) | (b[this.pos + 1] << 8) | b[this.pos + 2]);
      this.pos += 3;
      if (v < 0x4000) throw new MlsDecodeError('bad_varint', `${what}: non-minimal 4-byte varint ${v}`, start);
      return v;
    }
    throw new MlsDecodeError('bad_varint', `${what}: varint prefix 0b11 is reserved`, start);
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const out = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  /** `opaque x<V>`: a varint length then that many bytes (a view, not a copy). */
  vec(what = 'vector'): Buffer {
    const n = this.varint(what);
    return this.bytes(n, what);
  }

  /** A `T items<V>`: the body as its own reader so item parsers cannot run past the vector. */
  vecReader(what = 'vector'): TlsReader {
    const n = this.varint(what);
    this.need(n, what);
    const r = new TlsReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Slice of the underlying buffer between two offsets (for signed / hashed ranges). */
  slice(from: number, to: number): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + from, to - from);
  }

  expectEnd(what: string): void {
    if (this.pos !== this.end)
      throw new MlsDecodeError('trailing_bytes', `${what}: ${this.end - this.pos} unexpected trailing bytes`, this.pos);
  }
}

export class TlsWriter {
  private chunks: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  u8(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }

  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }

  u64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(v);
    return this.push(b);
  }

  varint(n: number): this {
    return this.push(encodeVarint(n));
  }

  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b.buffer, b.byteOffset, b.length));
  }

  vec(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  get length(): number {
    return this.size;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** Encodes a length with the minimal MLS varint; lengths past 2^30-1 cannot be encoded (RangeError: a caller bug). */
export function encodeVarint(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > MAX_VARINT) throw new RangeError(`varint out of range: ${n}`);
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
}

/** `opaque x<V>` as a standalone buffer. */
export function vecBytes(b: Uint8Array): Buffer {
  return Buffer.concat([encodeVarint(b.length), b]);
}
