import type { PartStarter } from '../common/part.ts';

/**
 * The parts `resound start` knows, in start order, each built and wired by the composition root (`compose.ts`).
 * Loaded lazily so starting one part never imports another's dependencies (sharp, opus, …).
 */
export const PARTS: Record<string, () => Promise<PartStarter>> = {
  voice: async () => (await import('./compose.ts')).startVoice,
  proxy: async () => (await import('./compose.ts')).startProxy,
  workers: async () => (await import('./compose.ts')).startWorkers,
  'gateway-lite': async () => (await import('./compose.ts')).startGatewayLite,
  'gateway-front': async () => (await import('./compose.ts')).startGatewayFront,
};

/**
 * Other names people reach for. Signaling and the SFU are one voice server (the gateway hands each session its
 * media transport), so both start it.
 */
export const PART_ALIASES: Record<string, string> = {
  sfu: 'voice',
  signaling: 'voice',
  'media-proxy': 'proxy',
  platform: 'gateway-lite',
};
