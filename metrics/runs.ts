/**
 * Counts runs where their records change: a Store whose run repository increments
 * idflow_runs_started_total when a call creates a run's record and idflow_runs_finished_total
 * when a call ends it. The store decides which call that is (an insert that conflicts, an update
 * of a run still running), so a replayed start or a retried finish, in any process, counts once.
 */
import type { Store } from '../store/types.js';
import { runsFinished, runsStarted } from './registry.js';

export function countingRuns(store: Store): Store {
  const { runs } = store;
  return {
    ...store,
    runs: {
      ...runs,
      async start(run) {
        const created = await runs.start(run);
        if (created) runsStarted.inc({ automation: run.automation });
        return created;
      },
      async finish(runId, status, error, options) {
        const ended = await runs.finish(runId, status, error, options);
        if (ended) runsFinished.inc({ automation: ended.automation, status });
        return ended;
      },
      async lastStepCompleted(runId, stepName, output) {
        const ended = await runs.lastStepCompleted(runId, stepName, output);
        if (ended) runsFinished.inc({ automation: ended.automation, status: 'completed' });
        return ended;
      },
    },
  };
}
