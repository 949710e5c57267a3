/** `idflow replay --histories`: built on another branch; this placeholder keeps the option's wiring compiling. */
import type { Output } from '../output.js';

export async function replayHistories(output: Output, options: { since?: string; json?: boolean }): Promise<void> {
  throw new Error('not built on this branch');
}
