import type { PartStarter } from '../common/part.ts';

/**
 * The parts `resound start` knows, in start order. Loaded lazily so starting one part never imports another's
 * dependencies (sharp, opus, …).
 */
export const PARTS: Record<string, () => Promise<PartStarter>> = {
  voice: async () => (await import('../signaling/index.ts')).startVoice,
  proxy: async () => (await import('../media-proxy/index.ts')).start,
  workers: async () => (await import('../workers/index.ts')).start,
  'gateway-lite': async () => (await import('../gateway-lite/index.ts')).start,
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
