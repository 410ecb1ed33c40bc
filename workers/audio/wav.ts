/**
 * RIFF/WAVE reading: PCM 8/16/24/32-bit integer and 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE, into
 * interleaved Float32 samples. Every way a file can be wrong is a typed AudioInputError with a stable code.
 */
export type AudioErrorCode =
  'not_wav' | 'unsupported_wav' | 'truncated_wav' | 'unsupported_channels' | 'too_long' | 'empty_audio' | 'bad_pcm';

export class AudioInputError extends Error {
  constructor(
    readonly code: AudioErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AudioInputError';
  }
}

export interface Pcm {
  sampleRate: number;
  channels: number;
  /** Interleaved samples in [-1, 1]. */
  samples: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export function parseWav(buf: Buffer): Pcm {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new AudioInputError('not_wav', 'input does not start with a RIFF/WAVE header');
  }
  let fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > buf.length)
        throw new AudioInputError('truncated_wav', 'fmt chunk is shorter than 16 bytes');
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format === FORMAT_EXTENSIBLE && size >= 40) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new AudioInputError('unsupported_wav', 'data chunk comes before the fmt chunk');
      // Streaming writers leave the size at 0 or 0xffffffff: take what is there, whole frames only.
      const avail = buf.length - body;
      const len = size === 0 || size === 0xffffffff || size > avail ? avail : size;
      if (size > avail && size !== 0xffffffff)
        throw new AudioInputError('truncated_wav', `data chunk claims ${size} bytes, ${avail} present`);
      return decodeSamples(buf.subarray(body, body + len), fmt);
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }
  throw new AudioInputError(fmt ? 'truncated_wav' : 'unsupported_wav', fmt ? 'no data chunk' : 'no fmt chunk');
}

function decodeSamples(
  data: Buffer,
  f: { format: number; channels: number; rate: number; bits: number; blockAlign: number },
): Pcm {
  if (f.channels < 1 || f.channels > 2)
    throw new AudioInputError('unsupported_channels', `${f.channels} channels; mono or stereo only`);
  if (f.rate < 8000 || f.rate > 192_000)
    throw new AudioInputError('unsupported_wav', `sample rate ${f.rate} Hz is outside 8000..192000`);
  const bytes = f.bits / 8;
  const okInt = f.format === FORMAT_PCM && [8, 16, 24, 32].includes(f.bits);
  const okFloat = f.format === FORMAT_FLOAT && (f.bits === 32 || f.bits === 64);
  if (!okInt && !okFloat)
    throw new AudioInputError(
      'unsupported_wav',
      `format ${f.format} with ${f.bits} bits per sample is not PCM or float`,
    );
  if (f.blockAlign !== bytes * f.channels)
    throw new AudioInputError(
      'unsupported_wav',
      `block align ${f.blockAlign} does not match ${f.channels}×${f.bits} bits`,
    );
  const n = Math.floor(data.length / bytes / f.channels) * f.channels;
  const out = new Float32Array(n);
  for (let i = 0, o = 0; o < n; i += bytes, o++) {
    let v: number;
    if (okFloat) v = f.bits === 32 ? data.readFloatLE(i) : data.readDoubleLE(i);
    else if (f.bits === 8) v = (data[i] - 128) / 128;
    else if (f.bits === 16) v = data.readInt16LE(i) / 32768;
    else if (f.bits === 24) v = data.readIntLE(i, 3) / 8388608;
    else v = data.readInt32LE(i) / 2147483648;
    out[o] = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
  }
  return { sampleRate: f.rate, channels: f.channels, samples: out };
}

/** Raw little-endian signed 16-bit PCM, for clients that upload headerless capture buffers. */
export function parseS16le(buf: Buffer, sampleRate: number, channels: number): Pcm {
  if (channels < 1 || channels > 2)
    throw new AudioInputError('unsupported_channels', `${channels} channels; mono or stereo only`);
  if (buf.length % (2 * channels) !== 0)
    throw new AudioInputError('bad_pcm', `${buf.length} bytes is not a whole number of ${channels}-channel s16 frames`);
  const out = new Float32Array(buf.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2) / 32768;
  return { sampleRate, channels, samples: out };
}

/** A canonical 16-bit PCM WAV file from samples in [-1, 1]; tests and benches use it to make inputs. */
export function encodeWav16(samples: Float32Array, sampleRate: number, channels: number): Buffer {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) pcm[i] = Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767);
  return encodePcm16Wav(pcm, sampleRate, channels);
}

/** A canonical 16-bit PCM WAV file (44-byte header) around interleaved samples as they are. */
export function encodePcm16Wav(pcm: Int16Array, sampleRate: number, channels: number): Buffer {
  const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
