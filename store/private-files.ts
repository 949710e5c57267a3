/**
 * Owner-only files: the data dir (0700) and the files idflow creates in it (0600) hold token
 * hashes, runs with people's data and Temporal's history, so no other local user may read them.
 * Synchronous, like opening the store.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Takes group and other permissions away from an existing file or folder; returns its previous
 * mode when it changed it. A missing path is left alone.
 */
export function restrictToOwner(path: string, mode: number): number | undefined {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((current & 0o077) === 0) return undefined;
  chmodSync(path, mode);
  return current;
}

/** Creates the folder (and missing parents) 0700, or tightens it; returns its previous mode when tightened. */
export function ensurePrivateDir(dir: string): number | undefined {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    return restrictToOwner(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    throw new Error(`${dir} is readable by other users and cannot be made private (chmod 700): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Creates the file empty and 0600 when missing, before a library would create it 0644; an
 * existing file keeps its mode (processes of other users may share it on purpose).
 */
export function createPrivateFile(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
}
