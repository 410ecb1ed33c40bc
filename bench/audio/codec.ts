import { createRequire } from 'node:module';
import opus from '@discordjs/opus';

const { OpusEncoder } = opus;

/**
 * Opus at 48 kHz mono, 20 ms frames. Encoding uses @discordjs/opus (the binding the voice stack uses). Its decoder
 * always calls opus_decode with decode_fec = 0 and a 120 ms buffer, so it can neither decode in-band FEC nor conceal
 * exactly one lost 20 ms frame (an empty packet conceals 120 ms). The receiver therefore decodes with the raw libopus
 * API compiled to WebAssembly by `opus-encdec` — the same libopus 1.3.1 that @discordjs/opus bundles, and proven
 * bit-identical to it on received packets by the benchmark's bit-exactness check.
 */
export const SAMPLE_RATE = 48000;
export const FRAME_SAMPLES = 960;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const MAX_FRAME = 5760;
const MAX_PACKET = 4000;

export interface EncodeOptions {
  bitrate: number;
  fec: boolean;
  /** Expected loss the encoder provisions FEC for (OPUS_SET_PACKET_LOSS_PERC); FEC carries nothing at 0. */
  expectedLossPercent?: number;
}

/** Encodes a mono float signal (zero-padded to whole frames) into one Opus packet per 20 ms frame. */
export function encodeFrames(pcm: Float32Array, opts: EncodeOptions): Buffer[] {
  const enc = new OpusEncoder(SAMPLE_RATE, 1);
  enc.setBitrate(opts.bitrate);
  if (opts.fec) {
    enc.applyEncoderCTL(OPUS_SET_INBAND_FEC, 1);
    enc.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, opts.expectedLossPercent ?? 10);
  }
  const frames = Math.ceil(pcm.length / FRAME_SAMPLES);
  const out: Buffer[] = [];
  const buf = Buffer.alloc(FRAME_SAMPLES * 2);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const v = pcm[f * FRAME_SAMPLES + i] ?? 0;
      buf.writeInt16LE(toInt16(v), i * 2);
    }
    out.push(enc.encode(buf));
  }
  return out;
}

/** Reference decode with @discordjs/opus itself: int16 PCM of every packet, in order, no loss handling. */
export function decodeDirect(packets: readonly Uint8Array[]): Int16Array {
  const dec = new OpusEncoder(SAMPLE_RATE, 1);
  const parts = packets.map((p) => dec.decode(Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length / 2, 0));
  let o = 0;
  for (const p of parts) for (let i = 0; i < p.length; i += 2) out[o++] = p.readInt16LE(i);
  return out;
}

export function toInt16(v: number): number {
  return Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
}

/** libopus's own float → int16 conversion (lrintf: ties to even), so both decoders agree to the last bit. */
export function toInt16Even(v: number): number {
  const x = Math.max(-32768, Math.min(32767, v * 32768));
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface LibOpusWasm {
  isReady: boolean;
  onready: (() => void) | null;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _opus_decoder_create(rate: number, channels: number, errPtr: number): number;
  _opus_decoder_destroy(st: number): void;
  _opus_decode_float(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
}

let lib: Promise<LibOpusWasm> | undefined;

function loadLibOpus(): Promise<LibOpusWasm> {
  lib ??= new Promise((resolve) => {
    const mod = createRequire(import.meta.url)('opus-encdec/dist/libopus-decoder.wasm.js') as LibOpusWasm;
    if (mod.isReady) resolve(mod);
    else mod.onready = () => resolve(mod);
  });
  return lib;
}

/** A libopus decoder with the full loss API: normal decode, in-band FEC from the next packet, and 20 ms PLC. */
export class LossAwareDecoder {
  private constructor(
    private readonly m: LibOpusWasm,
    private st: number,
    private readonly inPtr: number,
    private readonly outPtr: number,
  ) {}

  static async create(): Promise<LossAwareDecoder> {
    const m = await loadLibOpus();
    const err = m._malloc(4);
    const st = m._opus_decoder_create(SAMPLE_RATE, 1, err);
    const code = m.HEAP32[err >> 2];
    m._free(err);
    if (!st || code !== 0) throw new Error(`opus_decoder_create failed (${code})`);
    return new LossAwareDecoder(m, st, m._malloc(MAX_PACKET), m._malloc(MAX_FRAME * 4));
  }

  /** Decodes `packet`; the PCM is quantised to 16-bit like a real playback path and @discordjs/opus. */
  decode(packet: Uint8Array): Float32Array {
    return this.run(packet, MAX_FRAME, 0);
  }

  /** Rebuilds the frame before `next` from next's FEC data (libopus falls back to PLC when there is none). */
  decodeFec(next: Uint8Array): Float32Array {
    return this.run(next, FRAME_SAMPLES, 1);
  }

  /** Conceals one lost 20 ms frame. */
  conceal(): Float32Array {
    return this.run(null, FRAME_SAMPLES, 0);
  }

  close(): void {
    if (!this.st) return;
    this.m._opus_decoder_destroy(this.st);
    this.m._free(this.inPtr);
    this.m._free(this.outPtr);
    this.st = 0;
  }

  private run(packet: Uint8Array | null, frameSize: number, fec: number): Float32Array {
    if (!this.st) throw new Error('decoder closed');
    if (packet && packet.length > MAX_PACKET) throw new RangeError('opus packet too large');
    if (packet) this.m.HEAPU8.set(packet, this.inPtr);
    const n = this.m._opus_decode_float(
      this.st,
      packet ? this.inPtr : 0,
      packet ? packet.length : 0,
      this.outPtr,
      frameSize,
      fec,
    );
    if (n < 0) throw new Error(`opus_decode_float failed (${n})`);
    const raw = this.m.HEAPF32.subarray(this.outPtr >> 2, (this.outPtr >> 2) + n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = toInt16Even(raw[i]) / 32768;
    return out;
  }
}
