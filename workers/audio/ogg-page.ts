/**
 * Ogg pages (RFC 3533): a 27-byte header, a lacing table and the packet bytes. Written by hand because no
 * maintained npm muxer does Ogg without pulling in FFmpeg; the reader exists so tests and the audio processor can
 * check what was written without trusting the writer.
 */
const CRC_TABLE = (() => {
  // Ogg's CRC-32: polynomial 0x04c11db7, MSB-first, initial value 0, no final xor (unlike zlib's reflected CRC-32).
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
  return crc;
}

export const HEADER_CONTINUED = 0x01;
export const HEADER_BOS = 0x02;
export const HEADER_EOS = 0x04;
/** A page holds at most 255 lacing values. */
export const MAX_SEGMENTS = 255;

export interface OggPage {
  headerType: number;
  granule: bigint;
  serial: number;
  sequence: number;
  /** Whole packets only: our writer never splits a packet across pages (Opus packets are ≤ 61,440 bytes by spec). */
  packets: Uint8Array[];
}

export function lacingCount(packetLength: number): number {
  return Math.floor(packetLength / 255) + 1;
}

export function writePage(page: OggPage): Buffer {
  const lacing: number[] = [];
  for (const p of page.packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (lacing.length > MAX_SEGMENTS) throw new RangeError(`page needs ${lacing.length} lacing values; the limit is 255`);
  const bodyLength = page.packets.reduce((s, p) => s + p.length, 0);
  const out = Buffer.alloc(27 + lacing.length + bodyLength);
  out.write('OggS', 0, 'latin1');
  out[4] = 0; // stream structure version
  out[5] = page.headerType;
  out.writeBigInt64LE(page.granule, 6);
  out.writeUInt32LE(page.serial >>> 0, 14);
  out.writeUInt32LE(page.sequence >>> 0, 18);
  // bytes 22..25 hold the CRC, computed with the field zeroed
  out[26] = lacing.length;
  out.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const p of page.packets) {
    out.set(p, at);
    at += p.length;
  }
  out.writeUInt32LE(oggCrc(out), 22);
  return out;
}

export interface ParsedPage extends OggPage {
  crcOk: boolean;
  /** True when the last packet continues on the next page (its last lacing value is 255). */
  openEnded: boolean;
}

export class OggParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OggParseError';
  }
}

/** Splits a whole Ogg stream into pages; throws OggParseError on truncation or a missing capture pattern. */
export function parsePages(data: Buffer): ParsedPage[] {
  const pages: ParsedPage[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 27 || data.toString('latin1', at, at + 4) !== 'OggS') {
      throw new OggParseError(`no Ogg capture pattern at byte ${at}`);
    }
    const nSeg = data[at + 26];
    const headerLen = 27 + nSeg;
    if (at + headerLen > data.length) throw new OggParseError(`truncated page header at byte ${at}`);
    const lacing = data.subarray(at + 27, at + headerLen);
    const bodyLen = lacing.reduce((s, v) => s + v, 0);
    if (at + headerLen + bodyLen > data.length) throw new OggParseError(`truncated page body at byte ${at}`);
    const raw = Buffer.from(data.subarray(at, at + headerLen + bodyLen));
    const storedCrc = raw.readUInt32LE(22);
    raw.writeUInt32LE(0, 22);
    const packets: Uint8Array[] = [];
    let start = headerLen;
    let len = 0;
    for (const v of lacing) {
      len += v;
      if (v < 255) {
        packets.push(raw.subarray(start, start + len));
        start += len;
        len = 0;
      }
    }
    const openEnded = nSeg > 0 && lacing[nSeg - 1] === 255;
    if (openEnded) packets.push(raw.subarray(start, start + len));
    pages.push({
      headerType: data[at + 5],
      granule: data.readBigInt64LE(at + 6),
      serial: data.readUInt32LE(at + 14),
      sequence: data.readUInt32LE(at + 18),
      packets,
      crcOk: oggCrc(raw) === storedCrc,
      openEnded,
    });
    at += headerLen + bodyLen;
  }
  return pages;
}
