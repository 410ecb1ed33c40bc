import zlib from 'node:zlib';
import zstd from 'zstd-napi/binding.js';

/** Transport compression a connection asked for with `?compress=`. */
export type Compression = 'none' | 'zlib-stream' | 'zstd-stream';

export function parseCompression(q: string | null): Compression | null {
  if (q === null || q === '') return 'none';
  return q === 'zlib-stream' || q === 'zstd-stream' ? q : null;
}

export interface CompressionOptions {
  /** zstd level (1..19); the stream context keeps its window across messages, which is where the gain comes from. */
  zstdLevel: number;
  /** log2 of the zstd window; bigger remembers more earlier dispatches (memory per connection ≈ 2^windowLog). */
  zstdWindowLog?: number;
}

/** Called with the uncompressed and emitted size of every message (compression metrics). */
export type BytesHook = (raw: number, sent: number) => void;

/**
 * One connection's outgoing-message encoder. `encode` hands a gateway message (one JSON text) in; `send` gets the
 * bytes to put in one WebSocket frame, in the order messages were encoded. `pending` counts bytes accepted but not yet
 * handed to `send` (the async zlib pipeline), so back-pressure sees them as well as the socket's own buffer.
 */
export interface FrameEncoder {
  readonly kind: Compression;
  readonly pending: number;
  encode(frame: string, send: (data: Buffer | string) => void): void;
  close(): void;
}

export function createEncoder(kind: Compression, opts: CompressionOptions, onBytes?: BytesHook): FrameEncoder {
  if (kind === 'zlib-stream') return new ZlibStreamEncoder(onBytes);
  if (kind === 'zstd-stream') return new ZstdStreamEncoder(opts, onBytes);
  return new PlainEncoder(onBytes);
}

/** No transport compression: text frames. */
class PlainEncoder implements FrameEncoder {
  readonly kind = 'none' as const;
  readonly pending = 0;
  constructor(private readonly onBytes?: BytesHook) {}
  encode(frame: string, send: (data: Buffer | string) => void): void {
    const n = Buffer.byteLength(frame);
    this.onBytes?.(n, n);
    send(frame);
  }
  close(): void {}
}

/**
 * zlib-stream: ONE deflate context (zlib header, not raw) for the whole connection; every message is written then
 * flushed with Z_SYNC_FLUSH, so its bytes end in 00 00 ff ff and the client can inflate it with the context it keeps.
 * Writes and flushes are pipelined; node's zlib runs them in order and emits all output of a write before that
 * flush's callback, so everything collected when a flush completes is exactly one message.
 */
class ZlibStreamEncoder implements FrameEncoder {
  readonly kind = 'zlib-stream' as const;
  private readonly deflate = zlib.createDeflate({ chunkSize: 64 * 1024 });
  private chunks: Buffer[] = [];
  private closed = false;
  pending = 0;

  constructor(private readonly onBytes?: BytesHook) {
    this.deflate.on('data', (c: Buffer) => this.chunks.push(c));
    this.deflate.on('error', () => this.close());
  }

  encode(frame: string, send: (data: Buffer | string) => void): void {
    if (this.closed) return;
    const raw = Buffer.from(frame);
    this.pending += raw.length;
    this.deflate.write(raw);
    this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      this.pending -= raw.length;
      if (this.closed) return;
      const out = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [];
      this.onBytes?.(raw.length, out.length);
      send(out);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.deflate.destroy();
  }
}

/**
 * zstd-stream: ONE zstd compression context for the connection, each message compressed with ZSTD_e_flush (never
 * ZSTD_e_end), so the frame stays open and later messages reference earlier ones; each WebSocket message is exactly
 * one gateway message. Drives zstd-napi's native streaming context (the one its CompressStream wraps) directly:
 * compressStream2 is synchronous, so ordering is trivial and no Transform machinery sits on the fan-out path.
 */
class ZstdStreamEncoder implements FrameEncoder {
  readonly kind = 'zstd-stream' as const;
  readonly pending = 0;
  private cctx: zstd.CCtx | null = new zstd.CCtx();
  private out = Buffer.allocUnsafe(zstd.cStreamOutSize());

  constructor(
    opts: CompressionOptions,
    private readonly onBytes?: BytesHook,
  ) {
    this.cctx!.setParameter(zstd.CParameter.compressionLevel, opts.zstdLevel);
    if (opts.zstdWindowLog) this.cctx!.setParameter(zstd.CParameter.windowLog, opts.zstdWindowLog);
  }

  encode(frame: string, send: (data: Buffer | string) => void): void {
    if (!this.cctx) return;
    let src: Buffer = Buffer.from(frame);
    const rawLength = src.length;
    const parts: Buffer[] = [];
    for (;;) {
      const [remaining, produced, consumed] = this.cctx.compressStream2(this.out, src, zstd.EndDirective.flush);
      if (produced > 0) parts.push(Buffer.from(this.out.subarray(0, produced)));
      src = src.subarray(consumed);
      if (src.length === 0 && remaining === 0) break;
    }
    const out = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.onBytes?.(rawLength, out.length);
    send(out);
  }

  close(): void {
    this.cctx = null; // the native context is freed with its wrapper
  }
}
