import { HEADER_BOS, HEADER_EOS, MAX_SEGMENTS, lacingCount, writePage, type ParsedPage } from './ogg-page.ts';

/** Opus granule positions always count 48 kHz samples, whatever the input rate (RFC 7845 §4). */
export const OPUS_GRANULE_RATE = 48_000;
/** libopus's encoder lookahead at 48 kHz in the audio application (2.5 ms + 4 ms delay compensation). */
export const LIBOPUS_PRE_SKIP = 312;

export interface OpusHead {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  outputGain: number;
  mappingFamily: number;
}

export function opusHeadPacket(h: Omit<OpusHead, 'mappingFamily' | 'outputGain'>): Buffer {
  if (h.channels < 1 || h.channels > 2) throw new RangeError('channel mapping family 0 carries 1 or 2 channels');
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1; // version
  b[9] = h.channels;
  b.writeUInt16LE(h.preSkip, 10);
  b.writeUInt32LE(h.inputSampleRate, 12);
  b.writeInt16LE(0, 16); // output gain, Q7.8 dB
  b[18] = 0; // mapping family 0: mono or L/R stereo, no mapping table
  return b;
}

export function opusTagsPacket(vendor: string, comments: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from('OpusTags', 'latin1')];
  const str = (s: string) => {
    const body = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    parts.push(len, body);
  };
  str(vendor);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(comments.length);
  parts.push(count);
  for (const c of comments) str(c);
  return Buffer.concat(parts);
}

export function parseOpusHead(p: Uint8Array): OpusHead {
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  if (b.length < 19 || b.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('not an OpusHead packet');
  return {
    channels: b[9],
    preSkip: b.readUInt16LE(10),
    inputSampleRate: b.readUInt32LE(12),
    outputGain: b.readInt16LE(16),
    mappingFamily: b[18],
  };
}

export interface OggOpusOptions {
  serial: number;
  channels: number;
  inputSampleRate: number;
  preSkip?: number;
  vendor?: string;
  comments?: string[];
  /** Flush a page after this many 48 kHz samples so players can seek (opusenc uses up to one second). */
  maxPageSamples?: number;
}

/**
 * Collects Opus packets and lays them out as an Ogg Opus stream: OpusHead alone on the first page, OpusTags on the
 * second, audio from the third; each page's granule is pre-skip plus the samples of every packet finished on it, and
 * the last page's granule is cut back to the true length so decoders drop the encoder's padding.
 */
export class OggOpusMuxer {
  private readonly pages: Buffer[] = [];
  private pending: Uint8Array[] = [];
  private pendingSegments = 0;
  private pendingSamples = 0;
  private samplesOut = 0;
  private sequence = 0;
  readonly preSkip: number;

  constructor(private readonly opts: OggOpusOptions) {
    this.preSkip = opts.preSkip ?? LIBOPUS_PRE_SKIP;
    this.emit(HEADER_BOS, 0n, [
      opusHeadPacket({ channels: opts.channels, preSkip: this.preSkip, inputSampleRate: opts.inputSampleRate }),
    ]);
    this.emit(0, 0n, [opusTagsPacket(opts.vendor ?? 'Resound workers (libopus)', opts.comments ?? [])]);
  }

  /** Adds one packet holding `samples48k` samples at 48 kHz. */
  push(packet: Uint8Array, samples48k: number): void {
    const segs = lacingCount(packet.length);
    if (this.pending.length && this.pendingSegments + segs > MAX_SEGMENTS) this.flush(0);
    this.pending.push(packet);
    this.pendingSegments += segs;
    this.pendingSamples += samples48k;
    if (this.pendingSamples >= (this.opts.maxPageSamples ?? OPUS_GRANULE_RATE)) this.flush(0);
  }

  /** Ends the stream; `totalSamples48k` is the real length, shorter than what was encoded by the final padding. */
  finish(totalSamples48k: number): Buffer {
    if (!this.pending.length) throw new Error('an Ogg Opus stream needs at least one audio packet on its last page');
    this.samplesOut += this.pendingSamples;
    const end = BigInt(this.preSkip + totalSamples48k);
    this.emit(HEADER_EOS, end, this.pending);
    this.pending = [];
    return Buffer.concat(this.pages);
  }

  private flush(flags: number): void {
    this.samplesOut += this.pendingSamples;
    this.emit(flags, BigInt(this.samplesOut), this.pending);
    this.pending = [];
    this.pendingSegments = 0;
    this.pendingSamples = 0;
  }

  private emit(headerType: number, granule: bigint, packets: Uint8Array[]): void {
    this.pages.push(writePage({ headerType, granule, serial: this.opts.serial, sequence: this.sequence++, packets }));
  }
}

/** Audio packets of a parsed stream (pages from the third on), for checks and re-decoding. */
export function audioPackets(pages: ParsedPage[]): Uint8Array[] {
  return pages.slice(2).flatMap((p) => p.packets);
}
