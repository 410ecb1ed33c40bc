/**
 * Subcommands other than `start`, each lazily imported from the face of the part that owns it (e.g. `emoji` from
 * workers/). Benchmarks are not product commands: they run through `npm run bench -- NAME`.
 */
export const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  emoji: async (argv) => (await import('../workers/index.ts')).emojiCommand(argv),
  audio: async (argv) => (await import('../workers/index.ts')).audioCommand(argv),
  seed: async (argv) => (await import('../gateway-lite/index.ts')).seedCommand(argv),
};
