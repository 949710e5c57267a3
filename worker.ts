/**
 * The worker's entry point: `node --import tsx worker.ts [--data-dir DIR] [--task-queue NAME]`
 * runs one worker against TEMPORAL_ADDRESS, exactly as `idflow worker` does. The worker is built
 * in app/worker.ts and run by app/runtime.ts; this file only hands its arguments to the CLI.
 */
import { main } from './cli/main.js';

process.exitCode = await main(['worker', ...process.argv.slice(2)]);
