/**
 * `npm run chaos -- --events 5000 --duration 10m`: the chaos run at the size asked, printing its
 * figures; exit code 1 when anything was lost or doubled. test/chaos.test.ts runs the same, bounded.
 * The store is PostgreSQL: `--database-url` (a database of its own: the run fills it), else a
 * throwaway cluster started for the run (scripts/postgres.js); `--store sqlite` shares one file.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../core/duration.js';
import { describeChaos } from './report.js';
import { runChaos } from './run.js';
import { startPostgres } from '../../scripts/postgres.js';

const MIN_POPULATION = 1000;

function count(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} "${text}" is not a positive whole number`);
  return value;
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`--${name} "${text}" is not a duration such as 90s or 10m`);
  return ms;
}

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '500' },
    duration: { type: 'string', default: '2m' },
    settle: { type: 'string', default: '10m' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'database-url': { type: 'string' },
    store: { type: 'string', default: 'postgres' },
  },
});
if (values.store !== 'postgres' && values.store !== 'sqlite') throw new Error(`--store "${values.store}" is not postgres or sqlite`);
const events = count('events', values.events);
const cluster = values.store === 'postgres' && values['database-url'] === undefined ? await startPostgres() : undefined;
if (cluster) console.log(`PostgreSQL at ${cluster.url} (a throwaway cluster for this run)`);
const report = await runChaos({
  events,
  // Each existing person changes at most once (see feed.ts): a larger feed needs more people.
  population: Math.max(MIN_POPULATION, Math.ceil(events * 0.6) + 50),
  feedMs: duration('duration', values.duration),
  settleMs: duration('settle', values.settle),
  seed: count('seed', values.seed),
  databaseUrl: values['database-url'] ?? cluster?.url,
  apis: 2,
  workers: 3,
  killEveryMs: [2000, 5000],
  log: (line) => console.log(line),
});
cluster?.stop();
console.log(describeChaos(report));
process.exitCode = report.problems.length === 0 ? 0 : 1;
