/**
 * Subcommands other than `start`, each lazily imported from the part that owns it. Parts add their entry here
 * (e.g. `emoji` from workers/, `audio-bench` from bench/).
 */
export const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  emoji: async (argv) => (await import('../workers/index.ts')).emojiCommand(argv),
  seed: async (argv) => (await import('../gateway-lite/index.ts')).seedCommand(argv),
  'audio-bench': async (argv) => void (await (await import('../bench/audio/index.ts')).audioBench(argv)),
};
