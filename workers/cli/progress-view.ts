import type { Queue } from 'bullmq';
import { packStatus, type PackStatus } from '../pack-progress.ts';
import { isRedisOutage, StallClock, stallNote } from './cli-args.ts';
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
  private lastLine = '';
  private readonly stall = new StallClock();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  render(s: PackStatus, children: ActiveChild[]): void {
    this.stall.observe(`${s.done}|${children.map((c) => `${c.name}:${c.progress}`).join(',')}`);
    const head =
      `pack  ${bar(s.total ? s.done / s.total : 0)} ${s.done}/${s.total}${s.failed ? `  failed ${s.failed}` : ''}` +
      (s.state === 'completed' || s.state === 'failed' ? '' : stallNote(this.stall, children.length));
    this.draw([
      head,
      ...children
        .slice(0, 8)
        .map((c) => `  ${c.name.padEnd(32)} ${bar(c.progress / 100, 20)} ${String(c.progress).padStart(3)}%`),
    ]);
  }

  /** Shown in place of the progress while Redis does not answer; polling goes on and the bars return with it. */
  renderOutage(sinceS: number): void {
    this.draw([`Redis unreachable, retrying (${sinceS} s)`]);
  }

  private draw(lines: string[]): void {
    if (!this.tty) {
      // Logs and pipes: one line when the head line changes (not every second of an outage counter).
      const head = lines[0].replace(/\(\d+ s\)$|for \d+ s$/, '');
      if (head !== this.lastLine) this.out.write(`${lines[0]}\n`);
      this.lastLine = head;
      return;
    }
    // Move up over the previous frame and clear it before drawing the new one.
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Polls Redis until the pack job finishes (completed or failed), rendering as it goes. */
  async follow(queue: Queue, packId: string, intervalMs = 250): Promise<PackStatus> {
    let outageSince: number | undefined;
    for (;;) {
      let s: PackStatus | undefined;
      let children: ActiveChild[] = [];
      try {
        s = await packStatus(queue, packId);
        if (s && s.state !== 'completed' && s.state !== 'failed') children = await activeChildren(queue, packId);
        outageSince = undefined;
      } catch (err) {
        if (!isRedisOutage(err)) throw err;
        outageSince ??= Date.now();
        this.renderOutage(Math.floor((Date.now() - outageSince) / 1000));
        await new Promise((r) => setTimeout(r, intervalMs));
        continue;
      }
      if (!s)
        throw new Error(
          `pack job ${packId} disappeared from the queue (Redis restarted without persistence?); run the same ` +
            'command again to resume: job ids come from the files, so finished emojis Redis still knows are not redone',
        );
      this.render(s, children);
      if (s.state === 'completed' || s.state === 'failed') return s;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
