/**
 * The Temporal SDK's runtime, installed once per process before any connection: its own log
 * level (ERROR: its worker lifecycle lines are noise at INFO, and its WARN lines repeat step
 * failures that idflow's logger and run records report), and, for a worker that serves metrics,
 * the SDK's Prometheus exporter.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

export interface TemporalRuntimeOptions {
  /** host:port where the SDK's Prometheus exporter listens (its metrics are prefixed `temporal_`). */
  prometheusBindAddress?: string;
  /**
   * The least level of the SDK core's own lines on stderr (default WARN). The replayer sets ERROR:
   * core warns of each history that fails to replay, which its report already says.
   */
  coreLogLevel?: 'WARN' | 'ERROR';
}

let installed = false;

/**
 * Installs the SDK runtime, once per process; later calls change nothing. Metrics asked for
 * after the runtime exists cannot be had: that throws rather than serve a worker without them.
 */
export function installTemporalRuntime(options: TemporalRuntimeOptions = {}): void {
  const { prometheusBindAddress, coreLogLevel } = options;
  if (installed) {
    if (prometheusBindAddress !== undefined) throw new Error('the Temporal SDK runtime was installed before its metrics were asked for');
    return;
  }
  installed = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: {
        ...(coreLogLevel !== undefined && { logging: { filter: { core: coreLogLevel, other: 'ERROR' } } }),
        ...(prometheusBindAddress !== undefined && {
          // Durations in seconds, as Prometheus and idflow's own metrics have them; names as Temporal's SDK metrics reference has them.
          metrics: { prometheus: { bindAddress: prometheusBindAddress, useSecondsForDurations: true } },
        }),
      },
    });
  } catch (error) {
    // The runtime was already created (a worker or connection exists): keep its logger, but not silently lose metrics.
    if (prometheusBindAddress !== undefined) throw error;
  }
}
