import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
  },
});
