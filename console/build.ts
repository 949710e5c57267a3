/**
 * PLACEHOLDER until the console's app lands (console-ui's console/build.ts replaces this file):
 * the contract's build function, writing a minimal index.html and one content-hashed script, so
 * the server side (serving, building at install and start) has a build to serve and test.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_OUT_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export async function buildConsole(options: { outDir?: string; minify?: boolean } = {}): Promise<{ outDir: string; files: string[] }> {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const script = "document.getElementById('app').textContent = 'idflow console: placeholder build';\n";
  const asset = `assets/main-${createHash('sha256').update(script).digest('hex').slice(0, 8)}.js`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>idflow</title><script type="module" src="/${asset}"></script></head>
<body><div id="app"></div></body></html>
`;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'assets'), { recursive: true });
  await writeFile(join(outDir, asset), script);
  await writeFile(join(outDir, 'index.html'), html);
  return { outDir, files: ['index.html', asset] };
}
