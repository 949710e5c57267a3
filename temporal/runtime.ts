/**
 * The Temporal SDK's own log level. ERROR by default: its worker lifecycle lines are noise at
 * INFO, and its WARN lines repeat step failures that idflow's logger and run records report.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

/** Installs the SDK runtime with this log level, once per process; later calls change nothing. */
export function installTemporalLogging(level: LogLevel = 'ERROR'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // The runtime was already created (a worker or connection exists): keep its logger.
  }
}
