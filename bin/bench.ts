import { pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { ensureTools, type Tool } from '../common/system-tools.ts';

/** `npm run bench -- NAME [args…]` runs bench/NAME.ts; each benchmark prints one JSON line per figure. */
const [name, ...args] = process.argv.slice(2);
const dir = path.resolve(import.meta.dirname, '..', 'bench');
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (available: ${available.join(', ')})`);
  process.exit(2);
}
/** Debian tools a benchmark calls: installed first as root (apt-get), else named in one line before anything runs. */
const GIFSICLE: Tool = { bin: 'gifsicle', pkg: 'gifsicle', why: 'GIF → GIF (the proxy and emoji GIF figures)' };
const NEEDS: Record<string, Tool[]> = { proxy: [GIFSICLE], emoji: [GIFSICLE] };
const tools = ensureTools(NEEDS[name] ?? [], {
  searchPath: process.env.PATH ?? '',
  isRoot: process.getuid?.() === 0,
  purpose: `npm run bench -- ${name}`,
});
if (!tools.ok) {
  console.error(tools.message);
  process.exit(2);
}
if (tools.installed.length) console.error(`bench set-up: installed ${tools.installed.join(', ')}`);
process.argv = [process.argv[0], path.join(dir, `${name}.ts`), ...args];
await import(pathToFileURL(path.join(dir, `${name}.ts`)).href);
