/**
 * Compiles a browser module (TypeScript, `*.browser.ts`) and what it imports into one ES module string, with esbuild
 * (present wherever Resound runs: tsx, which starts it, is built on it). Loaded lazily so the voice server pays
 * nothing until someone opens the demo page.
 */
export async function bundleBrowserModule(entry: string): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: false,
    sourcemap: false,
    logLevel: 'silent',
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return file.text;
}
