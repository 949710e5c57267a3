/** The figures of a chaos run, printed by `npm run chaos` and the test alike. */
import type { ChaosReport } from './run.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;

export function describeChaos(report: ChaosReport): string {
  const { options, kills, runs, events, duplicates, messages, atMostOnceWindowMs: window } = report;
  const byProcess = (prefix: string): number => kills.filter((kill) => kill.process.startsWith(prefix)).length;
  const inFlight = kills.reduce((sum, kill) => sum + kill.inFlight, 0);
  return [
    `chaos: ${options.events} lifecycle changes over a ${options.population}-person directory, ${options.apis} APIs + ${options.workers} workers on ${options.store}, seed ${options.seed}`,
    `  kills       ${kills.length} (${byProcess('api')} API, ${byProcess('worker')} worker), each with work in flight: ${inFlight} activities/requests cut off`,
    `  events      ${events.directory} directory events + ${events.direct} direct events, each ingested once`,
    `  runs        ${runs.completed} of ${runs.expected} completed (${Object.entries(runs.byStatus)
      .map(([status, n]) => `${n} ${status}`)
      .join(', ')}); ${runs.stepsRetried} steps took more than one attempt`,
    `  retried     ${report.retryCauses.map(([cause, n]) => `${n}× ${cause}`).join('; ') || 'nothing'} (in up to 100 runs' histories)`,
    `  messages    ${messages.emails} emails, ${messages.slackMessages} Slack messages, ${messages.webhookIds} webhook-ids in ${messages.webhookDeliveries} deliveries`,
    `  duplicates  directory events ${duplicates.directoryEvents}, emails ${duplicates.emails}, Slack messages ${duplicates.slackMessages} (webhook redeliveries under the same id: ${duplicates.webhookRedeliveries})`,
    `  at-most-once window (server accepted → step_effects written): p50 ${window.p50} ms, p99 ${window.p99} ms, max ${window.max} ms over ${window.samples} messages`,
    `  wall time   ${seconds(report.wallMs)} (feed ${seconds(report.feedMs)}, settling ${seconds(report.settleMs)})`,
    report.problems.length === 0 ? '  nothing lost, nothing doubled' : `  PROBLEMS:\n${report.problems.map((p) => `  - ${p}`).join('\n')}`,
  ].join('\n');
}
