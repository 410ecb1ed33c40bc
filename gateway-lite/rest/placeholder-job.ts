/**
 * Placeholders are computed after the message is stored, off the upload path (bench `interactions`,
 * `upload_latency_placeholder_placement`: computing them during the upload raised its mean latency about 2.5×, a
 * job after it leaves the upload as fast as without placeholders). One job per message, run one at a time per node
 * so thumbnails never compete with uploads for more than one libuv thread; when done, the placeholders are stored
 * with the message's attachments and a MESSAGE_UPDATE tells the channel's sessions.
 */
import type { Logger } from 'pino';
import { Intent, type DispatchBus } from '../gateway/events.ts';
import type { Storage, StoredAttachment } from '../storage/types.ts';
import { PLACEHOLDER_VERSION, computePlaceholder } from './placeholder.ts';
import { messageJson } from './serialize.ts';

interface Job {
  channelId: string;
  messageId: string;
  /** Image bytes by attachment id (only images: the media proxy reported dimensions). */
  images: Array<{ attachmentId: string; data: Buffer }>;
}

/** Jobs waiting beyond this are dropped (their attachments stay without placeholder) rather than hold memory. */
const MAX_QUEUED = 256;

export class PlaceholderJobs {
  private readonly queue: Job[] = [];
  private running: Promise<void> | null = null;
  /** Jobs dropped because the queue was full (a gauge of falling behind). */
  dropped = 0;

  constructor(
    private readonly storage: Storage,
    private readonly bus: DispatchBus,
    private readonly logger: Logger,
  ) {}

  /** Queue the placeholders of a stored message's image attachments. */
  enqueue(channelId: string, messageId: string, attachments: StoredAttachment[], files: Buffer[]): void {
    const images = attachments
      .map((a, i) => ({ attachmentId: a.id, data: files[i], image: a.width !== null }))
      .filter((x) => x.image)
      .map(({ attachmentId, data }) => ({ attachmentId, data }));
    if (images.length === 0) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push({ channelId, messageId, images });
    this.running ??= this.run();
  }

  /** Resolves when every queued job has finished (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.one(job);
    } finally {
      this.running = null;
    }
  }

  private async one(job: Job): Promise<void> {
    try {
      const hashes = new Map<string, string>();
      for (const img of job.images) {
        const hash = await computePlaceholder(img.data);
        if (hash) hashes.set(img.attachmentId, hash);
      }
      if (hashes.size === 0) return;
      const m = await this.storage.getMessage(job.channelId, job.messageId);
      // Deleted meanwhile, or an edit removed these attachments (an interaction's editReply({attachments: []})).
      if (!m || !m.attachments.some((a) => hashes.has(a.id))) return;
      const attachments = m.attachments.map((a) =>
        hashes.has(a.id) ? { ...a, placeholder: hashes.get(a.id), placeholderVersion: PLACEHOLDER_VERSION } : a,
      );
      const updated = await this.storage.editMessage(job.channelId, job.messageId, { attachments });
      if (!updated) return;
      await this.bus.publish({
        t: 'MESSAGE_UPDATE',
        d: messageJson(updated, await this.storage.getUser(updated.authorId)),
        guildId: updated.guildId,
        intent: Intent.GUILD_MESSAGES,
      });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, messageId: job.messageId }, 'placeholder job failed');
    }
  }
}
