/** The Temporal SDK's own log level (its worker lifecycle lines are noise at INFO). */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

/** Installs the SDK runtime with this log level, once per process; later calls change nothing. */
export function installTemporalLogging(level: LogLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // The runtime was already created (a worker or connection exists): keep its logger.
  }
}
