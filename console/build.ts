/**
 * Builds the web console (console/src, React) into a static directory the API serves: `index.html`,
 * which loads only content-hashed files under `assets/` (no inline script: the CSP allows 'self' only),
 * and lazy chunks for what the first page does not need (the function editor, the diff view).
 * `node --import tsx console/build.ts` builds into console/dist and prints what the first page ships.
 */
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const CONSOLE = fileURLToPath(new URL('.', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE, 'dist');

export interface ConsoleBuild {
  outDir: string;
  /** Every file written, relative to outDir (`index.html`, `assets/main-XXXX.js`, …). */
  files: string[];
}

/** What the browser loads before the first page shows: the entry's script and stylesheet and the chunks they import statically. */
export interface FirstPageSize {
  files: string[];
  bytes: number;
  gzipBytes: number;
}

const html = (script: string, stylesheet: string | undefined, preloads: string[]) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>idflow console</title>
${stylesheet ? `    <link rel="stylesheet" href="/${stylesheet}" />\n` : ''}${preloads.map((chunk) => `    <link rel="modulepreload" href="/${chunk}" />\n`).join('')}    <script type="module" src="/${script}"></script>
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
`;

export async function buildConsole(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<ConsoleBuild & { firstPage: FirstPageSize }> {
  const outDir = options.outDir ?? CONSOLE_DIST;
  // A fresh directory: files of an earlier build (other hashes) would otherwise pile up and be served.
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: CONSOLE,
    entryPoints: { main: 'src/main.tsx' },
    outdir: join(outDir, 'assets'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    minify: options.minify ?? true,
    sourcemap: false,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const path = (output: string) => relative(outDir, join(CONSOLE, output)).split('\\').join('/');
  const entry = Object.entries(outputs).find(([, output]) => output.entryPoint === 'src/main.tsx');
  if (!entry) throw new Error('the console build produced no entry script');
  const [script, { cssBundle }] = entry;

  // The first page: the entry, its stylesheet and, transitively, the chunks it imports statically.
  const firstPage = new Set<string>(cssBundle ? [cssBundle] : []);
  const visit = (output: string) => {
    if (firstPage.has(output)) return;
    firstPage.add(output);
    for (const imported of outputs[output].imports) if (imported.kind === 'import-statement') visit(imported.path);
  };
  visit(script);
  // The chunks the entry imports, fetched beside it rather than after it has been parsed.
  const preloads = [...firstPage].filter((output) => output !== script && output.endsWith('.js')).map(path);
  await writeFile(join(outDir, 'index.html'), html(path(script), cssBundle && path(cssBundle), preloads));
  let bytes = 0;
  let gzipBytes = 0;
  for (const output of firstPage) {
    const content = await readFile(join(CONSOLE, output));
    bytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return {
    outDir,
    files: ['index.html', ...Object.keys(outputs).map(path)].sort(),
    firstPage: { files: [...firstPage].map(path).sort(), bytes, gzipBytes },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const built = await buildConsole();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `console built into ${relative(process.cwd(), built.outDir) || '.'} in ${Date.now() - started} ms: ${built.files.length} files`,
  );
  console.log(
    `first page: ${built.firstPage.files.join(', ')}: ${kb(built.firstPage.bytes)}, ${kb(built.firstPage.gzipBytes)} gzip (limit 300 KB)`,
  );
}
