import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { listenExplained } from '../common/http.ts';
import { Sfu, SfuWorkerPool, type MediaPlane } from '../sfu/index.ts';
import type { SignalingConfig } from './config.ts';

/** The voice server's media plane as it was opened: in this process (`sfu`) or as worker processes (`pool`). */
export interface OpenedMediaPlane {
  plane: MediaPlane;
  /** The in-process SFU (SFU_WORKERS=0), else null. */
  sfu: Sfu | null;
  /** The worker processes (SFU_WORKERS ≥ 1), else null. */
  pool: SfuWorkerPool | null;
  /** UDP ports clients may be sent to, one per worker. */
  ports(): number[];
  /** For /healthz. */
  health(): Record<string, unknown>;
  /** Series kept in worker processes, for /metrics (empty in-process). */
  extraMetrics(): Promise<string>;
}

/** Opens the media plane SFU_WORKERS asks for, with the SFU_* settings; a port in use fails with the variable to set. */
export async function openMediaPlane(
  config: SignalingConfig,
  bind: string,
  log: Logger,
  registry: Registry,
): Promise<OpenedMediaPlane> {
  const settings = {
    bindAddress: bind,
    port: config.SFU_UDP_PORT,
    publicIp: config.RESOUND_PUBLIC_IP,
    silence: config.SFU_SILENCE_SYNTHESIS,
    silenceGapMs: config.SFU_SILENCE_SYNTHESIS === 'gap' ? config.SFU_SILENCE_GAP_MS : config.SFU_SILENCE_VANISH_MS,
    maxPacketsPerSecond: config.SFU_MAX_PPS,
    remoteIdleMs: config.SFU_REMOTE_IDLE_MS,
  };
  const workers = config.SFU_WORKERS ?? 0;
  const listener = { listener: 'SFU UDP', variable: 'SFU_UDP_PORT', host: bind, port: config.SFU_UDP_PORT };
  if (workers === 0) {
    const sfu = await listenExplained(listener, () =>
      Sfu.create({ ...settings, logger: log.child({ component: 'sfu' }), registry }),
    );
    return {
      plane: sfu,
      sfu,
      pool: null,
      ports: () => [sfu.port],
      health: () => ({ udp_port: sfu.port, sfu_workers: 0 }),
      extraMetrics: async () => '',
    };
  }
  const pool = await listenExplained(listener, () =>
    SfuWorkerPool.create({
      workers,
      init: { ...settings, io: config.SFU_IO, logLevel: log.level },
      publicIp: config.RESOUND_PUBLIC_IP,
      logger: log.child({ component: 'sfu-pool' }),
      registry,
    }),
  );
  return {
    plane: pool,
    sfu: null,
    pool,
    ports: () => pool.ports,
    health: () => ({
      udp_port: pool.port,
      sfu_workers: pool.members.map((w) => ({
        worker: w.id,
        up: w.ready,
        port: w.port,
        channels: w.channels,
        participants: w.participants,
        restarts: w.restarts,
      })),
    }),
    extraMetrics: () => pool.workerMetrics(),
  };
}
