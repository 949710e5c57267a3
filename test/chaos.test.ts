/**
 * Chaos, bounded: 500 lifecycle changes (HR imports through both of 2 `idflow api` processes, and
 * direct events) over a 1,000-person directory, run by 3 `idflow worker` processes, while a
 * process with work in flight is SIGKILLed every 2–5 s and started again. Every event is
 * ingested once, every run completes, the directory ends as the feed's own model says, no
 * directory change happens twice, and emails and Slack messages are doubled only inside the
 * at-most-once window (a crash between the server's acceptance and the step_effects record).
 * `npm run chaos -- --events 5000 --duration 10m` runs the same at any size (test/chaos/).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeChaos } from './chaos/report.js';
import { runChaos } from './chaos/run.js';
import { createTestDatabase, onlyOn } from './helpers/store.js';

test(
  '500 lifecycle changes through 2 APIs and 3 workers on PostgreSQL, SIGKILLed every 2–5 s: nothing lost, nothing doubled',
  { timeout: 15 * 60_000, skip: onlyOn('postgres', 'the production store; `npm run chaos -- --store sqlite` runs it on SQLite') },
  async () => {
    const database = await createTestDatabase();
    const report = await runChaos({
      databaseUrl: (database.location as { url: string }).url,
      events: 500,
      population: 1000,
      feedMs: 90_000,
      settleMs: 5 * 60_000,
      seed: 13,
      apis: 2,
      workers: 3,
      killEveryMs: [2000, 5000],
      log: (line) => console.log(line),
    }).finally(() => database.drop());
    console.log(describeChaos(report));
    assert.deepEqual(report.problems, []);

    // The chaos happened: both kinds of process killed, each kill with work in flight.
    const killed = (prefix: string) => report.kills.filter((kill) => kill.process.startsWith(prefix));
    // A kill waits for its target to have work in flight and spares the last ready process of a kind,
    // and restarts take seconds on a busy machine: 10–17 kills here (31 when kills went on longer).
    assert.ok(report.kills.length >= 5, `only ${report.kills.length} kills`);
    assert.ok(killed('api').length > 0 && killed('worker').length > 0, 'APIs and workers are killed');
    assert.ok(report.kills.every((kill) => kill.inFlight > 0));
    assert.ok(report.runs.stepsRetried > 0, 'kills cut steps off, and they were retried');

    assert.equal(report.runs.completed, report.runs.expected);
    assert.equal(report.duplicates.directoryEvents, 0);
    // A message is sent twice only when a kill lands between its acceptance and its record: at most
    // one duplicate per activity a killed worker had in flight.
    const cutOff = killed('worker').reduce((sum, kill) => sum + kill.inFlight, 0);
    assert.ok(
      report.duplicates.emails + report.duplicates.slackMessages <= cutOff,
      `${report.duplicates.emails} + ${report.duplicates.slackMessages} duplicates from ${cutOff} activities cut off`,
    );
  },
);
