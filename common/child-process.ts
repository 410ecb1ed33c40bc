/**
 * Node arguments for a child process that runs TypeScript: the parent's own (minus inspector flags), plus tsx's
 * loader unless the parent already runs through tsx (under vitest or plain node it does not).
 */
export function childExecArgv(): string[] {
  const own = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  if (own.some((a) => a.includes('tsx'))) return own;
  return [...own, '--import', import.meta.resolve('tsx')];
}
