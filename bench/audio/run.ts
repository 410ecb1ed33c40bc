import os from 'node:os';
import path from 'node:path';
import { runCell, type CellResult } from './cell.ts';
import { decodeDirect, encodeFrames, FRAME_SAMPLES, LossAwareDecoder } from './codec.ts';
import { expandMatrix, fecLossPercent, FULL_MATRIX, QUICK_MATRIX, type CellSpec } from './conditions.ts';
import { DEFAULT_TARGET_DELAY_MS } from './jitter-buffer.ts';
import type { MediaPath } from './media-path.ts';
import { loadFixture, type Scorer } from './scorer.ts';
import type { AudioReport, BitExactness } from './report/types.ts';
import { AUDIO_FIXTURES_DIR } from '../../testkit/index.ts';

export const FIXTURES_DIR = AUDIO_FIXTURES_DIR;

export interface RunOptions {
  quick: boolean;
  /** Restrict the matrix (tests, one-off investigations). */
  cells?: CellSpec[];
  path: MediaPath;
  /** In-memory peer with the same impairments, for the ratio. */
  peer?: MediaPath;
  scorer: Scorer;
  /** Cells in flight at once. */
  concurrency?: number;
  fixturesDir?: string;
  log?: (line: string) => void;
}

/** Runs the matrix through `path` (and `peer`), plus the zero-impairment bit-exactness check. */
export async function runAudioBenchmark(opts: RunOptions): Promise<AudioReport> {
  const started = performance.now();
  const dir = opts.fixturesDir ?? FIXTURES_DIR;
  const specs = opts.cells ?? expandMatrix(opts.quick ? QUICK_MATRIX : FULL_MATRIX);
  const encoded = new Map<string, Uint8Array[]>();
  const packetsFor = (s: CellSpec): Uint8Array[] => {
    const pct = fecLossPercent(s);
    const key = `${s.fixture}|${s.bitrateKbps}|${s.fec}|${pct}`;
    let p = encoded.get(key);
    if (!p) {
      p = encodeCell(dir, s);
      encoded.set(key, p);
    }
    return p;
  };

  const bitExact: BitExactness[] = [];
  const exactSpecs = distinctBy(
    specs.filter((s) => s.loss.kind === 'none' && s.jitter.kind === 'none'),
    (s) => `${s.fixture}|${s.bitrateKbps}|${s.fec}`,
  );
  for (const s of exactSpecs) bitExact.push(await checkBitExact(s, packetsFor(s), opts.path));

  const cells: CellResult[] = new Array<CellResult>(specs.length);
  const peerCells: CellResult[] = [];
  let next = 0;
  let done = 0;
  let sameDelivery = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i];
      const input = { spec, fixtureFile: fixtureFile(dir, spec.fixture), packets: packetsFor(spec) };
      const r = await runCell(input, opts.path, opts.scorer, opts.peer);
      cells[i] = r.cell;
      if (r.peer) peerCells.push(r.peer);
      if (r.sameDelivery) sameDelivery++;
      if (++done % 50 === 0 || done === specs.length) opts.log?.(`audio-bench: ${done}/${specs.length} cells`);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? Math.max(2, os.availableParallelism() * 2) }, worker));
  return {
    generatedAt: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    path: opts.path.name,
    peerPath: opts.peer?.name,
    durationSec: (performance.now() - started) / 1000,
    jitterBufferTargetMs: DEFAULT_TARGET_DELAY_MS,
    cells,
    peerCells,
    sameDelivery,
    bitExact,
  };
}

/** A cell's fixture encoded at its bitrate and FEC setting, 20 ms frames. */
export function encodeCell(dir: string, s: CellSpec): Uint8Array[] {
  const ref = loadFixture(fixtureFile(dir, s.fixture));
  // One extra frame of silence so the codec look-ahead does not cut off the clip's end.
  const padded = new Float32Array(ref.length + FRAME_SAMPLES);
  padded.set(ref);
  return encodeFrames(padded, { bitrate: s.bitrateKbps * 1000, fec: s.fec, expectedLossPercent: fecLossPercent(s) });
}

export function fixtureFile(dir: string, name: string): string {
  return path.join(dir, `${name}.wav`);
}

/**
 * Sends every packet through the path unimpaired and compares the PCM decoded from what arrived with the PCM decoded
 * from the encoder's own packets (both with @discordjs/opus). Separately records how far the loss-aware (WASM)
 * decoder is from @discordjs/opus on the same packets: same libopus, different compiler, so float rounding may differ.
 */
export async function checkBitExact(
  spec: CellSpec,
  packets: readonly Uint8Array[],
  path: MediaPath,
): Promise<BitExactness> {
  const plan = { drop: new Uint8Array(packets.length), delayMs: new Float64Array(packets.length).fill(20) };
  const rx = await path.transmit(packets, plan);
  const direct = decodeDirect(packets);
  const arrived = rx.packets.filter((p): p is Uint8Array => p !== undefined);
  const viaPath = arrived.length === packets.length ? decodeDirect(arrived) : new Int16Array(0);
  const dec = await LossAwareDecoder.create();
  let decoderDiffers = 0;
  let decoderMaxDelta = 0;
  try {
    let o = 0;
    for (const p of packets) {
      for (const v of dec.decode(p)) {
        const d = Math.abs(Math.round(v * 32768) - direct[o++]);
        if (d) decoderDiffers++;
        if (d > decoderMaxDelta) decoderMaxDelta = d;
      }
    }
  } finally {
    dec.close();
  }
  let differing = Math.abs(direct.length - viaPath.length);
  for (let i = 0; i < Math.min(direct.length, viaPath.length); i++) if (direct[i] !== viaPath[i]) differing++;
  return {
    fixture: spec.fixture,
    bitrateKbps: spec.bitrateKbps,
    fec: spec.fec,
    packets: packets.length,
    samplesCompared: direct.length,
    lostInPath: rx.unexpectedLoss,
    differingSamples: differing,
    decoderMismatches: decoderDiffers,
    decoderMaxDelta,
    identical: differing === 0 && rx.unexpectedLoss === 0,
  };
}

function distinctBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => (seen.has(key(t)) ? false : (seen.add(key(t)), true)));
}
