/**
 * The testkit's face: what tests, benchmarks and fixture generators share, one of each — the lean native voice client,
 * the real-client harness, the DAVE simulation, the fixture readers, the WAV reader, process and port helpers, and
 * synthetic image material. Never imported by the product; it reaches parts only through their faces.
 */
export { VoiceClient, type VoiceClientOptions, type ReceivedFrame } from './voice-client.ts';
export * from './voice-harness.ts';
export * from './dave-clients.ts';
export * from './dave-sim.ts';
export * from './fixtures.ts';
export * from './wav.ts';
export * from './process.ts';
export * from './image-synth.ts';
export * from './image-bombs.ts';
export * from './redis-keys.ts';
export * from './interactions-app.ts';
