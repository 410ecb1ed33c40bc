/**
 * An SFU worker process: one `Sfu` (its own UDP socket and port, SSRC table and routers) driven by the signaling
 * process over IPC (protocol.ts). It holds media state only; a crash here costs this worker's channels, nothing else.
 */
import { pino } from 'pino';
import { MirroredMembership, E2eeGate } from '../e2ee-gate.ts';
import type { Logger } from 'pino';
import { RouterPipe } from '../pipe.ts';
import type { Router } from '../router.ts';
import { Sfu } from '../sfu.ts';
import type { UdpTransport } from '../udp/udp-transport.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from './protocol.ts';

const LOAD_INTERVAL_MS = 1000;

function send(e: WorkerEvent): void {
  process.send?.(e);
}

class WorkerHost {
  private readonly routers = new Map<string, Router>();
  private readonly transports = new Map<number, UdpTransport>();
  private readonly mirrors = new Map<string, MirroredMembership>();
  private readonly pipes = new Map<string, RouterPipe>();
  private last = { rtp: 0, forwarded: 0 };
  private readonly loadTimer: NodeJS.Timeout;

  constructor(
    private readonly sfu: Sfu,
    private readonly log: Logger,
  ) {
    this.loadTimer = setInterval(() => this.reportLoad(), LOAD_INTERVAL_MS);
  }

  handle(c: WorkerCommand): void {
    switch (c.t) {
      case 'router': {
        const r = this.sfu.createRouter(c.router);
        this.routers.set(c.router, r);
        r.once('@close', () => {
          this.routers.delete(c.router);
          this.mirrors.delete(c.router);
          this.pipes.delete(c.router);
        });
        return;
      }
      case 'router-close':
        return this.routers.get(c.router)?.close();
      case 'transport': {
        const r = this.routers.get(c.router);
        if (!r) return;
        const t = r.createTransport(c.ssrc);
        this.transports.set(c.ssrc, t);
        t.observer.once('close', () => {
          if (this.transports.get(c.ssrc) === t) this.transports.delete(c.ssrc);
        });
        return;
      }
      case 'transport-close':
        return this.transports.get(c.ssrc)?.close();
      case 'peer-ip': {
        const t = this.transports.get(c.ssrc);
        if (t) t.peerIp = c.ip;
        return;
      }
      case 'key':
        return this.transports.get(c.ssrc)?.setKey(c.mode, c.key);
      case 'join': {
        const r = this.routers.get(c.router);
        const t = this.transports.get(c.ssrc);
        if (r && t && !t.closed && !r.closed) r.addParticipant(c.userId, t);
        return;
      }
      case 'mute':
        return this.routers.get(c.router)?.setServerMute(c.userId, c.muted);
      case 'deafen':
        return this.routers.get(c.router)?.setDeafened(c.userId, c.deafened);
      case 'speaking-ended':
        return this.routers.get(c.router)?.speakingEnded(c.userId);
      case 'gate': {
        const r = this.routers.get(c.router);
        if (!r) return;
        if (!c.on) {
          this.mirrors.delete(c.router);
          return r.setGate(null);
        }
        const mirror = new MirroredMembership((userId) => send({ t: 'e2ee-frame', router: c.router, userId }));
        this.mirrors.set(c.router, mirror);
        return r.setGate(new E2eeGate(mirror));
      }
      case 'member':
        return this.mirrors.get(c.router)?.set(c.userId, c.member);
      case 'scrape':
        void this.sfu.registry
          .getMetricsAsJSON()
          .then((metrics) => send({ t: 'scraped', id: c.id, metrics }))
          .catch(() => send({ t: 'scraped', id: c.id, metrics: [] }));
        return;
      case 'pipe-open': {
        const r = this.routers.get(c.router);
        if (!r) return send({ t: 'pipe-opened', id: c.id, port: 0 });
        void RouterPipe.open(r, c.ssrc, this.log).then(
          (pipe) => {
            this.pipes.set(c.router, pipe);
            send({ t: 'pipe-opened', id: c.id, port: pipe.port });
          },
          () => send({ t: 'pipe-opened', id: c.id, port: 0 }),
        );
        return;
      }
      case 'pipe-connect':
        return this.pipes.get(c.router)?.connect(c.port);
      case 'pipe-member': {
        const pipe = this.pipes.get(c.router);
        if (c.on) pipe?.addMember(c.userId, c.ssrc, c.kind);
        else pipe?.removeMember(c.ssrc);
        return;
      }
      case 'close':
        return void this.close();
      case 'init':
        return;
    }
  }

  private reportLoad(): void {
    const counts = this.sfu.metrics.counts;
    let participants = 0;
    for (const r of this.routers.values()) participants += r.participants.length;
    const rtp = counts.datagrams.rtp;
    const forwarded = counts.forwarded;
    send({
      t: 'load',
      load: {
        routers: this.routers.size,
        participants,
        rtpIn: rtp - this.last.rtp,
        forwarded: forwarded - this.last.forwarded,
      },
    });
    this.last = { rtp, forwarded };
  }

  private closing = false;

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.loadTimer);
    await this.sfu.close();
    send({ t: 'closed' });
    process.disconnect?.();
  }
}

async function start(init: WorkerInit): Promise<void> {
  const logger = pino({
    level: init.logLevel,
    base: { pid: process.pid, part: 'voice', component: 'sfu-worker', worker: init.workerId },
  });
  let sfu: Sfu;
  try {
    sfu = await Sfu.create({
      bindAddress: init.bindAddress,
      port: init.port,
      publicIp: init.publicIp,
      logger,
      silence: init.silence,
      silenceGapMs: init.silenceGapMs,
      maxPacketsPerSecond: init.maxPacketsPerSecond,
      remoteIdleMs: init.remoteIdleMs,
      io: init.io,
    });
  } catch (err) {
    const failed: WorkerEvent = {
      t: 'failed',
      error: (err as Error).message,
      code: (err as NodeJS.ErrnoException).code,
    };
    // Exit once the message is on its way: exiting at once could lose it.
    process.send?.(failed, () => process.exit(1));
    return;
  }
  const host = new WorkerHost(sfu, logger);
  process.on('message', (m: WorkerCommand) => {
    try {
      host.handle(m);
    } catch (err) {
      // A command for something that went away meanwhile (a transport closed under a late key): logged, not fatal.
      logger.warn({ err: (err as Error).message, command: m.t }, 'sfu worker command failed');
    }
  });
  // The signaling process is gone: nobody can reach these channels any more.
  process.on('disconnect', () => void host.close().finally(() => process.exit(0)));
  send({ t: 'ready', port: sfu.port, io: sfu.ioPath, fallback: null });
}

process.once('message', (m: WorkerCommand) => {
  if (m.t === 'init') void start(m.init);
});
