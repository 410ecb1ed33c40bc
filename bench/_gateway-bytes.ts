/**
 * Bytes per dispatch on the recorded event stream (fixtures/gateway/event-stream.jsonl) for each transport: raw JSON,
 * zlib-stream (one deflate context, Z_SYNC_FLUSH per message), zstd-stream (one zstd context, ZSTD_e_flush per
 * message) at the gateway's level and at 19, with a larger window, and with a dictionary trained by `zstd --train` on
 * the first third of the stream (measured on the other two thirds only). "warm" = one long connection; "cold" = a
 * fresh context every 20 dispatches (short-lived connections, where a dictionary matters most).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import zstd from 'zstd-napi/binding.js';

export interface StreamEvent {
  t: string;
  d: Record<string, unknown>;
}

export function loadStream(): StreamEvent[] {
  const file = path.resolve(import.meta.dirname, '..', 'fixtures', 'gateway', 'event-stream.jsonl');
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StreamEvent);
}

export const frameOf = (e: StreamEvent, s: number) => `{"t":"${e.t}","s":${s},"op":0,"d":${JSON.stringify(e.d)}}`;

async function zlibBytes(frames: string[]): Promise<number> {
  const d = zlib.createDeflate();
  let total = 0;
  d.on('data', (c: Buffer) => (total += c.length));
  for (const f of frames) {
    d.write(f);
    await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
  }
  d.destroy();
  return total;
}

function zstdBytes(frames: string[], level: number, windowLog?: number, dict?: Buffer): number {
  const c = new zstd.CCtx();
  c.setParameter(zstd.CParameter.compressionLevel, level);
  if (windowLog) c.setParameter(zstd.CParameter.windowLog, windowLog);
  if (dict) c.loadDictionary(dict);
  const out = Buffer.allocUnsafe(zstd.cStreamOutSize());
  let total = 0;
  for (const f of frames) {
    let src = Buffer.from(f);
    for (;;) {
      const [remaining, produced, consumed] = c.compressStream2(out, src, zstd.EndDirective.flush);
      total += produced;
      src = src.subarray(consumed);
      if (src.length === 0 && remaining === 0) break;
    }
  }
  return total;
}

/** A dictionary trained with the zstd CLI on `samples` (one file each), or null when the CLI is missing. */
function trainDictionary(samples: string[], maxBytes: number): Buffer | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resound-zdict-'));
  try {
    samples.forEach((s, i) => fs.writeFileSync(path.join(dir, `${i}.json`), s));
    const out = path.join(dir, 'dict');
    const files = samples.map((_, i) => path.join(dir, `${i}.json`));
    const r = spawnSync('zstd', ['--train', '-q', '-19', `--maxdict=${maxBytes}`, '-o', out, ...files], {
      stdio: 'ignore',
    });
    return r.status === 0 ? fs.readFileSync(out) : null;
  } catch {
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface BytesFigures {
  dispatches: number;
  raw: number;
  variants: { name: string; warm: number; cold: number }[];
  dictBytes: number | null;
}

/** Average bytes per dispatch, warm and cold, per variant. `gatewayZstdLevel` = what the gateway is configured with. */
export async function bytesPerDispatch(gatewayZstdLevel: number): Promise<BytesFigures> {
  const stream = loadStream();
  const frames = stream.map((e, i) => frameOf(e, i + 1));
  const split = Math.floor(frames.length / 3);
  const train = frames.slice(0, split);
  const test = frames.slice(split);
  const dict = trainDictionary(train, 64 * 1024);
  const cold = async (fn: (chunk: string[]) => number | Promise<number>) => {
    let total = 0;
    for (let i = 0; i < test.length; i += 20) total += await fn(test.slice(i, i + 20));
    return total / test.length;
  };
  const per = (n: number) => n / test.length;
  const variants: BytesFigures['variants'] = [
    { name: 'zlib-stream', warm: per(await zlibBytes(test)), cold: await cold(zlibBytes) },
    {
      name: `zstd-stream level ${gatewayZstdLevel}`,
      warm: per(zstdBytes(test, gatewayZstdLevel)),
      cold: await cold((c) => zstdBytes(c, gatewayZstdLevel)),
    },
    { name: 'zstd-stream level 19', warm: per(zstdBytes(test, 19)), cold: await cold((c) => zstdBytes(c, 19)) },
    {
      name: 'zstd-stream level 19 window 8 MiB',
      warm: per(zstdBytes(test, 19, 23)),
      cold: await cold((c) => zstdBytes(c, 19, 23)),
    },
  ];
  if (dict)
    variants.push({
      name: `zstd-stream level 19 + trained dictionary (${dict.length} B)`,
      warm: per(zstdBytes(test, 19, undefined, dict)),
      cold: await cold((c) => zstdBytes(c, 19, undefined, dict)),
    });
  const raw = test.reduce((s, f) => s + Buffer.byteLength(f), 0) / test.length;
  return { dispatches: test.length, raw, variants, dictBytes: dict?.length ?? null };
}
