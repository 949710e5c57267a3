/**
 * HR import at scale: a 10,000-person feed into a directory that already holds those people,
 * with 5% of them changed (movers, leavers, joiners). Reports the time, the events emitted
 * (must equal the changes) and the process's peak memory. Target: < 10 s and < 300 MB.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFeed, parseFeed } from '../directory/import.js';
import { DirectoryService } from '../directory/service.js';
import { openStore } from '../store/index.js';

const PEOPLE = 10_000;
const DEPARTMENTS = ['Engineering', 'Sales', 'Finance', 'People', 'IT', 'Support'];

function feed(changed: boolean): string {
  const lines = ['id,email,firstName,lastName,department,title,managerEmail,employmentType,status,startDate,location,costCenter'];
  for (let i = 1; i <= PEOPLE; i++) {
    const isManager = i <= DEPARTMENTS.length;
    let department = DEPARTMENTS[(i - 1) % DEPARTMENTS.length] as string;
    let status = 'ENABLED';
    // 5% of the people change: 3% move department, 2% leave.
    if (changed && i > DEPARTMENTS.length && i % 100 < 3) department = DEPARTMENTS[i % DEPARTMENTS.length] as string;
    if (changed && i > DEPARTMENTS.length && i % 100 >= 3 && i % 100 < 5) status = 'DISABLED';
    const manager = isManager ? '' : `person${DEPARTMENTS.indexOf(department) + 1}@acme.example`;
    lines.push(
      `p-${i},person${i}@acme.example,First${i},Last${i},${department},${isManager ? 'Head' : 'Engineer'},${manager},FULL_TIME,${status},2024-01-15,London,CC-${i % 40}`,
    );
  }
  return lines.join('\n');
}

export interface DirectoryBenchFigures {
  people: number;
  changes: number;
  events: number;
  importMs: number;
  peakRssMb: number;
}

export async function benchDirectoryImport(): Promise<DirectoryBenchFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bench-directory-'));
  const store = await openStore({ file: join(dir, 'idflow.sqlite') });
  try {
    const directory = new DirectoryService(store.directory);
    await importFeed(directory, await parseFeed('day1.csv', feed(false)), { source: 'bench' });
    await store.directory.markDelivered((await store.directory.pendingEvents(PEOPLE * 2)).map((e) => e.seq));
    const text = feed(true);
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const report = await importFeed(directory, await parseFeed('day2.csv', text), { source: 'bench' });
    const importMs = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const events = (await store.directory.pendingEvents(PEOPLE * 2)).length;
    const changes = report.created.length + report.updated.length + report.deactivated.length;
    if (report.errors.length > 0) throw new Error(`bench feed has bad rows: ${JSON.stringify(report.errors.slice(0, 3))}`);
    return { people: PEOPLE, changes, events, importMs, peakRssMb: peak / 1024 / 1024 };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
