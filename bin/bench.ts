import { pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

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
process.argv = [process.argv[0], path.join(dir, `${name}.ts`), ...args];
await import(pathToFileURL(path.join(dir, `${name}.ts`)).href);
