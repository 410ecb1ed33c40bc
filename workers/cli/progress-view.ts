import type { Queue } from 'bullmq';
import { packStatus, type PackStatus } from '../pack-progress.ts';
import { bar } from './format.ts';

export interface ActiveChild {
  name: string;
  progress: number;
}

async function activeChildren(queue: Queue, packId: string): Promise<ActiveChild[]> {
  const jobs = await queue.getJobs(['active'], 0, 200);
  return jobs
    .filter((j) => j.parent?.id === packId)
    .map((j) => ({
      name: String((j.data as { name?: string }).name ?? j.id),
      progress: typeof j.progress === 'number' ? j.progress : 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Live progress: on a terminal, a pack bar plus one bar per emoji in flight, redrawn in place; elsewhere (CI logs,
 * pipes), one plain line each time the done count moves.
 */
export class ProgressView {
  private drawn = 0;
  private lastDone = -1;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  render(s: PackStatus, children: ActiveChild[]): void {
    const head = `pack  ${bar(s.total ? s.done / s.total : 0)} ${s.done}/${s.total}${s.failed ? `  failed ${s.failed}` : ''}`;
    if (!this.tty) {
      if (s.done !== this.lastDone) this.out.write(`${head}\n`);
      this.lastDone = s.done;
      return;
    }
    const lines = [
      head,
      ...children
        .slice(0, 8)
        .map((c) => `  ${c.name.padEnd(32)} ${bar(c.progress / 100, 20)} ${String(c.progress).padStart(3)}%`),
    ];
    // Move up over the previous frame and clear it before drawing the new one.
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Polls Redis until the pack job finishes (completed or failed), rendering as it goes. */
  async follow(queue: Queue, packId: string, intervalMs = 250): Promise<PackStatus> {
    for (;;) {
      const s = await packStatus(queue, packId);
      if (!s) throw new Error(`pack job ${packId} disappeared from the queue`);
      this.render(s, s.state === 'completed' || s.state === 'failed' ? [] : await activeChildren(queue, packId));
      if (s.state === 'completed' || s.state === 'failed') return s;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
