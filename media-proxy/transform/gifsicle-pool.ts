import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MediaError } from '../errors.ts';
import { Gate } from '../limits.ts';

/**
 * GIF → GIF goes through gifsicle, which resizes and re-optimises palette data without re-quantising every frame (sharp's
 * GIF output is often several times larger than its input). Each job is a child process fed on stdin; at most `size`
 * run at once, `queueSize` wait, and a job past its timeout is killed.
 */

export interface GifsicleJob {
  /** Target box; omitted = no resize. */
  width?: number;
  height?: number;
  /** `cover` crops the source to the box's aspect first; others fit inside it. */
  fit: 'cover' | 'contain' | 'inside';
  sourceWidth: number;
  sourceHeight: number;
  /** gifsicle --lossy level (0 = lossless LZW). */
  lossy: number;
  /** First frame only (reduced motion). */
  firstFrameOnly: boolean;
}

export interface GifsicleOptions {
  /** Explicit binary; otherwise the npm package's build, then `gifsicle` on PATH. */
  binary?: string;
  size: number;
  queueSize: number;
  timeoutMs: number;
  maxOutputBytes: number;
}

/** Finds a working gifsicle: configured path, the optional npm package's vendor binary, then the system one. */
export function resolveGifsicle(configured?: string): string | undefined {
  const candidates: string[] = [];
  if (configured) candidates.push(configured);
  else {
    try {
      const pkg = createRequire(import.meta.url).resolve('gifsicle');
      candidates.push(path.join(path.dirname(pkg), 'vendor', 'gifsicle'));
    } catch {
      // optional dependency absent or failed to build: fall through to the system binary
    }
    candidates.push('gifsicle');
  }
  for (const c of candidates) {
    if (c.includes('/') && !fs.existsSync(c)) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (!r.error && r.status === 0) return c;
  }
  return undefined;
}

export function gifsicleArgs(job: GifsicleJob): string[] {
  const args = ['--no-comments', '--no-names', '-O3'];
  if (job.lossy > 0) args.push(`--lossy=${job.lossy}`);
  const { width: w, height: h, sourceWidth: sw, sourceHeight: sh } = job;
  if (job.fit === 'cover' && w && h && (w < sw || h < sh)) {
    // Crop the centred region with the target's aspect, then scale it to the box.
    const scale = Math.max(w / sw, h / sh);
    const cw = Math.min(sw, Math.round(w / scale));
    const ch = Math.min(sh, Math.round(h / scale));
    args.push('--crop', `${Math.floor((sw - cw) / 2)},${Math.floor((sh - ch) / 2)}+${cw}x${ch}`);
    if (cw > w || ch > h) args.push('--resize', `${Math.min(w, cw)}x${Math.min(h, ch)}`);
  } else if ((w && w < sw) || (h && h < sh)) {
    args.push('--resize-fit', `${w ?? '_'}x${h ?? '_'}`);
  }
  if (args.includes('--resize') || args.includes('--resize-fit'))
    args.push('--resize-method', 'lanczos3', '--resize-colors', '64');
  args.push('-');
  if (job.firstFrameOnly) args.push('#0');
  return args;
}

export class GifsiclePool {
  readonly binary: string | undefined;
  private readonly gate: Gate;
  constructor(private readonly opts: GifsicleOptions) {
    this.binary = resolveGifsicle(opts.binary);
    this.gate = new Gate(opts.size, opts.queueSize);
  }

  get available(): boolean {
    return this.binary !== undefined;
  }

  async run(input: Uint8Array, job: GifsicleJob): Promise<Buffer> {
    const bin = this.binary;
    if (!bin) {
      throw new MediaError(
        'gifsicle_unavailable',
        'GIF output needs gifsicle, which is not installed here; request format=webp instead',
        {
          'retry-after': '3600',
        },
      );
    }
    return this.gate.run(() => this.exec(bin, input, gifsicleArgs(job)));
  }

  private exec(bin: string, input: Uint8Array, args: string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let failed: MediaError | undefined;
      const timer = setTimeout(() => {
        failed = new MediaError('transform_timeout', `gifsicle took longer than ${this.opts.timeoutMs} ms`, {
          'retry-after': '1',
        });
        child.kill('SIGKILL');
      }, this.opts.timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        outBytes += d.length;
        if (outBytes > this.opts.maxOutputBytes) {
          failed = new MediaError('input_too_large', 'gifsicle output exceeded the size limit');
          child.kill('SIGKILL');
        } else out.push(d);
      });
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 2000) err += d.toString();
      });
      child.stdin.on('error', () => {}); // EPIPE when gifsicle exits early; the exit code tells the story
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new MediaError('gifsicle_unavailable', `gifsicle could not start: ${e.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (failed) reject(failed);
        else if (code !== 0)
          reject(new MediaError('corrupt_image', `gifsicle rejected the GIF: ${err.trim().split('\n')[0] ?? code}`));
        else resolve(Buffer.concat(out));
      });
      child.stdin.end(input);
    });
  }
}
