import { defineConfig } from 'vitest/config';

/** The suites that move voice datagrams: run a second time on the node:dgram fallback (the default run is `auto`). */
const DATAGRAM_SUITES = ['test/sfu/**/*.test.ts', 'test/conformance/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Real-client suites open UDP sockets and TLS listeners; two forks fit the 2-core CI machine.
    maxWorkers: 2,
    // @discordjs/voice 0.19.2 loads sodium-native with a bare dynamic import() and reads its functions off the ESM
    // namespace, which Node leaves empty for that CommonJS addon (XChaCha then fails with "size NaN"). Letting the
    // test runner load the client applies CommonJS interop, so the real client runs its real XChaCha code.
    server: { deps: { inline: ['@discordjs/voice'] } },
    // Both SFU datagram I/O paths pass the same suites: `default` runs SFU_IO=auto (batched where the udp-mmsg addon
    // is built), `sfu-dgram` runs the datagram suites again with SFU_IO=dgram; `sfu-workers` runs the conformance
    // suites with the media in two SFU worker processes.
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'sfu-dgram', include: DATAGRAM_SUITES, env: { SFU_IO: 'dgram' } } },
      // The real-client conformance suites once more with every channel's media in SFU worker processes.
      {
        extends: true,
        test: { name: 'sfu-workers', include: ['test/conformance/**/*.test.ts'], env: { SFU_WORKERS: '2' } },
      },
      // Browsers with the channel's media in a worker: the browser side pipes into the worker's router.
      {
        extends: true,
        test: {
          name: 'webrtc-workers',
          include: ['test/signaling/webrtc/browser-voice.test.ts'],
          env: { SFU_WORKERS: '2' },
        },
      },
    ],
  },
});
