/** What bench/sfu.ts measures per load step, shared with the cells in bench/_sfu-io.ts. */
import type { SutConfig } from './_sfu-sut.ts';
import type { SutHostKind } from './_sfu-sut-host.ts';
import type { IoChoice, TransportMode } from '../sfu/index.ts';

export interface StepResult {
  channels: number;
  offered: number;
  forwarded: number;
  elu: number;
  /** CPU seconds per second of the system's thread. */
  cpu: number;
  perCore: number;
  p50: number;
  p99: number;
  probeLoss: number;
  generatorElu: number;
  /** Sends the generator skipped because it fell >100 ms behind (it should stay 0 or the load was not offered). */
  skippedSends: number;
  saturated: boolean;
  /** Resident memory of the system (its whole process when run as one) and before any participant existed. */
  rssBytes: number;
  rssEmptyBytes: number;
  participants: number;
  io: string;
  /** Copies/s that reached the generator's receiver sockets (bench/_sfu-udp-drops.ts plus the probes' reads). */
  received: number;
  /** received ÷ forwarded: about 1 when the system's counters are real copies on the wire. */
  receivedRatio: number;
  /** Worker pools: per worker, channels among the active ones placed there and copies/s it forwarded. */
  perWorker?: { worker: number; channels: number; forwarded: number }[];
  /** Worker pools: involuntary context switches of the workers per CPU-second they used. */
  preemptionsPerCpuS?: number;
}

/** Where the system runs, its I/O path, and the load steps (default --steps). */
export interface RunOptions {
  host?: SutHostKind;
  io?: IoChoice;
  steps?: number[];
  /** `workers` systems: how many SFU worker processes. */
  workers?: number;
  /** The measurement window per step (default --measure-ms). */
  measureMs?: number;
}
export type RunSystem = (
  name: string,
  kind: SutConfig['kind'],
  mode: TransportMode,
  opts?: RunOptions,
) => Promise<StepResult[]>;
