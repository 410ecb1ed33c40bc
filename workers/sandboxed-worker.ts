import { childExecArgv } from '../common/child-process.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { WaitingError, Worker, type Child, type ChildPool, type Job, type Processor, type WorkerOptions } from 'bullmq';
import { JobTimeoutError } from './errors.ts';

/** The child process that is running the current job, recorded when BullMQ's pool hands it out. */
/** The child a job runs in, and a callback for the moment it is handed one (its processor loaded). */
interface ChildSlot {
  child?: Child;
  onRetained?: () => void;
}
const childSlot = new AsyncLocalStorage<ChildSlot>();

/**
 * How long a job may wait for a child process to start and load its processor before its own time starts. The job
 * timeout measures the processor's run, so a loaded machine that starts children slowly does not fail healthy jobs;
 * this bounds a child that never comes up.
 */
const CHILD_START_ALLOWANCE_MS = 30_000;

export interface SandboxedWorkerOptions extends Omit<WorkerOptions, 'useWorkerThreads' | 'workerForkOptions'> {
  /** A job still running after this long has its child process SIGKILLed and fails this attempt with `timeout`. */
  timeoutMs: number;
  /** Jobs with these names run in-process instead (cheap bookkeeping such as a pack's summary). */
  inProcess?: Record<string, (job: Job) => Promise<unknown>>;
  /** Runs before every job, in-process or sandboxed; a throw fails the job without running it. */
  admit?: (job: Job) => void;
}

/**
 * A BullMQ Worker whose processor file runs in child processes (BullMQ's sandbox), with a per-job timeout BullMQ
 * does not have: a hung or spinning child cannot answer a cancel message, so the only cure is to kill it. Child
 * processes rather than worker threads, because SIGKILL is what reclaims a native (sharp/libvips) hang.
 */
export class SandboxedWorker extends Worker {
  private readonly timeoutMs: number;
  private readonly inProcess: Record<string, (job: Job) => Promise<unknown>>;
  private readonly admit: (job: Job) => void;
  // `declare`: createSandbox() sets it from inside super(), and an initialised field would reset it afterwards.
  declare private pool: ChildPool | undefined;
  private handingBack = false;

  constructor(queue: string, processFile: string, opts: SandboxedWorkerOptions) {
    const { timeoutMs, inProcess, admit, ...rest } = opts;
    super(queue, processFile, { ...rest, useWorkerThreads: false, workerForkOptions: { execArgv: childExecArgv() } });
    this.timeoutMs = timeoutMs;
    this.inProcess = inProcess ?? {};
    this.admit = admit ?? (() => {});
  }

  protected override createSandbox(processor: string | URL | null | Processor): void {
    super.createSandbox(processor);
    // BullMQ keeps its child pool private; hooking `retain` is the one place that learns which child got the job.
    const pool = (this as unknown as { childPool?: ChildPool }).childPool;
    if (!pool) return;
    const retain = pool.retain.bind(pool);
    pool.retain = async (file: string) => {
      const child = await retain(file);
      const slot = childSlot.getStore();
      if (slot) {
        slot.child = child;
        slot.onRetained?.();
      }
      return child;
    };
    this.pool = pool;
  }

  protected override async callProcessJob(job: Job, token: string, signal?: AbortSignal): Promise<unknown> {
    this.admit(job);
    const local = this.inProcess[job.name];
    if (local) return local(job);
    const slot: ChildSlot = {};
    return childSlot.run(slot, () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        const expire = () => {
          if (slot.child && this.pool) void this.pool.kill(slot.child, 'SIGKILL');
          reject(new JobTimeoutError(this.timeoutMs));
        };
        timer = setTimeout(expire, this.timeoutMs + CHILD_START_ALLOWANCE_MS);
        // The processor's own time starts once it has a child with the processor loaded.
        slot.onRetained = () => {
          clearTimeout(timer);
          timer = setTimeout(expire, this.timeoutMs);
        };
      });
      const run = super.callProcessJob(job, token, signal).catch(async (err: unknown) => {
        if (!this.handingBack) throw err;
        // Our own shutdown killed the child: return the job to the queue untouched rather than spend an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      });
      run.catch(() => {}); // after a timeout the child's exit rejects this too; the timeout already answered
      return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
    });
  }

  /**
   * The end of a shutdown grace: kill every child and put the jobs they were running back in the waiting list, so
   * another worker starts them at once instead of after their lock expires, and no attempt is counted. Returns how
   * many jobs were running (and so handed back).
   */
  async handBack(): Promise<number> {
    const pool = this.pool;
    if (!pool) return 0;
    this.handingBack = true;
    const running = Object.values(pool.retained);
    await Promise.all([...running, ...pool.getAllFree()].map((c) => pool.kill(c, 'SIGKILL')));
    return running.length;
  }
}
