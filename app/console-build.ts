/**
 * The built web console the API serves: console/dist, built at `npm install`
 * (scripts/build-console.ts) and again at start when missing or older than its sources. A build
 * goes to a fresh directory that then replaces console/dist by renames, so neither a process
 * serving the console nor a second build running at the same time sees half a build.
 */
import { chmod, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

const CONSOLE_ROOT = fileURLToPath(new URL('../console/', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');
/** What a build reads: the app's sources and the build itself. */
const SOURCES = [join(CONSOLE_ROOT, 'src'), join(CONSOLE_ROOT, 'build.ts')];

const missing = (error: NodeJS.ErrnoException) => {
  if (error.code === 'ENOENT') return undefined;
  throw error;
};

/** The newest modification time of a file or of any file under a directory; undefined when it does not exist. */
async function newestChange(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(missing);
  if (info === undefined || !info.isDirectory()) return info?.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestChange(join(path, entry))));
  return Math.max(info.mtimeMs, ...times.map((time) => time ?? 0));
}

/** Whether console/dist is missing or older than a source. */
export async function consoleIsStale(): Promise<boolean> {
  const built = await newestChange(join(CONSOLE_DIST, 'index.html'));
  if (built === undefined) return true;
  const sources = await Promise.all(SOURCES.map(newestChange));
  return sources.some((time) => time !== undefined && time > built);
}

/** Builds the console and puts it in place of console/dist; the files it wrote. */
export async function buildConsoleDist(): Promise<string[]> {
  // Loaded only when a build is due: the bundler stays out of every other start.
  const { buildConsole } = await import('../console/build.js');
  const staging = await mkdtemp(join(CONSOLE_ROOT, 'dist-'));
  // mkdtemp makes it owner-only; the image builds as root and serves as another user.
  await chmod(staging, 0o755);
  const replaced = `${staging}-replaced`;
  try {
    const { files } = await buildConsole({ outDir: staging, minify: true });
    await rename(CONSOLE_DIST, replaced).catch(missing);
    await rename(staging, CONSOLE_DIST).catch((error: NodeJS.ErrnoException) => {
      // A build running at the same time put its own in place first: as good as this one.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
    return files;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(replaced, { recursive: true, force: true });
  }
}

/** console/dist, built first when it is missing or stale; a build that fails is logged, and the API serves the previous build if there is one. */
export async function builtConsole(logger: Logger): Promise<string> {
  if (await consoleIsStale()) {
    const started = Date.now();
    try {
      const files = await buildConsoleDist();
      logger.info({ files: files.length, ms: Date.now() - started }, 'built the web console');
    } catch (error) {
      logger.error(
        { err: error },
        'the web console could not be built: serving the previous build, if any (without one its pages answer 503)',
      );
    }
  }
  return CONSOLE_DIST;
}
