/**
 * The end of a chaos run: what idflow's store and the loopback services hold, compared with the
 * feed's model (feed.ts). Every difference is a problem named precisely; the figures (runs,
 * duplicates, the at-most-once window) are measured from the same data.
 */
import type { Kysely } from 'kysely';
import type { Account, Campaign, Grant } from '../../directory/types.js';
import type { Database } from '../../store/db.js';
import { eventKey, type ChaosFeed, type ExpectedEvent } from './feed.js';
import type { Acceptances, Sinks } from './sinks.js';

export interface Verdict {
  problems: string[];
  runs: { expected: number; completed: number; byStatus: Record<string, number>; stepsRetried: number };
  events: { directory: number; direct: number };
  duplicates: { directoryEvents: number; emails: number; slackMessages: number; webhookRedeliveries: number };
  messages: { emails: number; slackMessages: number; webhookIds: number; webhookDeliveries: number };
  /** Milliseconds from a server's acceptance to the worker's step_effects record: a crash inside it sends again. */
  atMostOnceWindowMs: { samples: number; p50: number; p99: number; max: number };
}

/** The Message-ID send_email derives from a step's idempotency key. */
const messageIdOf = (effectKey: string): string => `<${effectKey.replace(/[^A-Za-z0-9._-]/g, '.')}@idflow>`;
const EMAIL_STEPS = ['welcome_email', 'tell_manager'];
const SLACK_STEPS = ['welcome_slack', 'announce'];

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Occurrences beyond the first, over every key. */
const extraAcceptances = (accepted: Acceptances): number => [...accepted.values()].reduce((sum, times) => sum + times.length - 1, 0);

function countBy<T>(items: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Lists at most a few examples of a problem, with how many there are. */
function some(items: string[], limit = 5): string {
  return `${items.slice(0, limit).join('; ')}${items.length > limit ? `; ... (${items.length} in all)` : ''}`;
}

/** The directory events since the initial load, as (type, user, entitlement) keys. */
async function directoryEventsSince(
  db: Kysely<Database>,
  baselineSeq: number,
): Promise<{ keys: ExpectedEvent[]; ids: string[]; undelivered: number }> {
  const rows = await db
    .selectFrom('directory_outbox')
    .select(['event_id', 'type', 'data', 'delivered_at'])
    .where('seq', '>', baselineSeq)
    .execute();
  const keys = rows.map((row) => {
    const data = JSON.parse(row.data) as { newUser?: { id: string }; user?: { id: string }; grant?: Grant };
    const user = data.grant?.userId ?? data.newUser?.id ?? data.user?.id ?? '?';
    return eventKey(row.type, user, data.grant?.entitlement);
  });
  return { keys, ids: rows.map((row) => row.event_id), undelivered: rows.filter((row) => row.delivered_at === null).length };
}

function compareDirectoryEvents(expected: ExpectedEvent[], actual: ExpectedEvent[], problems: string[]): number {
  const want = countBy(expected);
  const got = countBy(actual);
  const missing: string[] = [];
  const doubled: string[] = [];
  let duplicates = 0;
  for (const [key, count] of want) if ((got.get(key) ?? 0) < count) missing.push(key);
  for (const [key, count] of got) {
    const extra = count - (want.get(key) ?? 0);
    if (extra > 0) {
      duplicates += extra;
      doubled.push(`${key} ×${count}`);
    }
  }
  if (missing.length > 0) problems.push(`directory events missing: ${some(missing)}`);
  if (doubled.length > 0) problems.push(`directory events doubled or unexpected: ${some(doubled)}`);
  return duplicates;
}

async function compareDirectory(db: Kysely<Database>, feed: ChaosFeed, problems: string[]): Promise<void> {
  const users = await db.selectFrom('dir_users').select(['id', 'status', 'department']).execute();
  const grants = await db.selectFrom('dir_grants').select(['user_id', 'data']).execute();
  const accounts = (await db.selectFrom('dir_accounts').select('data').execute()).map((row) => JSON.parse(row.data) as Account);
  const campaigns = (await db.selectFrom('dir_campaigns').select('data').execute()).map((row) => JSON.parse(row.data) as Campaign);
  const grantsOf = new Map<string, string[]>();
  for (const row of grants) grantsOf.set(row.user_id, [...(grantsOf.get(row.user_id) ?? []), (JSON.parse(row.data) as Grant).entitlement]);

  const wrong: string[] = [];
  const expected = feed.expected.directory;
  if (users.length !== expected.size) wrong.push(`${users.length} users, expected ${expected.size}`);
  for (const user of users) {
    const want = expected.get(user.id);
    if (!want) {
      wrong.push(`${user.id}: not in the feed`);
      continue;
    }
    const held = [...(grantsOf.get(user.id) ?? [])].sort().join(',');
    const wanted = [...want.grants].sort().join(',');
    if (user.status !== want.status) wrong.push(`${user.id}: status ${user.status}, expected ${want.status}`);
    if (user.department !== want.department) wrong.push(`${user.id}: department ${user.department}, expected ${want.department}`);
    if (held !== wanted) wrong.push(`${user.id}: grants [${held}], expected [${wanted}]`);
    const own = accounts.filter((account) => account.userId === user.id).map((a) => `${a.app}:${a.username}:${a.status}`);
    const wantAccounts = want.googleAccount ? [`google:${want.googleAccount}:APP_USER_STATUS_ENABLED`] : [];
    if (own.join() !== wantAccounts.join()) wrong.push(`${user.id}: accounts [${own}], expected [${wantAccounts}]`);
    const reviews = campaigns.filter((c) => c.userId === user.id).map((c) => `${c.templateId}:${c.reviewerId}:${c.items}:${c.state}`);
    const reviewer = want.campaignReviewer?.split('@')[0];
    const wantReviews = reviewer ? [`leaver-review:${reviewer}:google:workspace:open`] : [];
    if (reviews.join() !== wantReviews.join()) wrong.push(`${user.id}: campaigns [${reviews}], expected [${wantReviews}]`);
  }
  if (wrong.length > 0) problems.push(`directory differs from the feed's model: ${some(wrong)}`);
}

/**
 * Milliseconds from a message's (last) acceptance to its step_effects record: how long it sat
 * accepted but unrecorded, where a crash sends it again.
 */
async function effectWindows(db: Kysely<Database>, sinks: Sinks): Promise<number[]> {
  const rows = await db.selectFrom('step_effects').select(['key', 'result', 'created_at']).execute();
  const windows: number[] = [];
  for (const row of rows) {
    const step = row.key.slice(row.key.lastIndexOf('.') + 1);
    const recordedAt = Date.parse(row.created_at);
    if (EMAIL_STEPS.includes(step)) {
      const accepted = sinks.emails.get(messageIdOf(row.key))?.at(-1);
      if (accepted !== undefined) windows.push(recordedAt - accepted);
    } else if (SLACK_STEPS.includes(step)) {
      const { ts } = JSON.parse(row.result) as { ts: string };
      windows.push(recordedAt - Number(ts) * 1000);
    }
  }
  return windows.sort((a, b) => a - b);
}

export async function verify(db: Kysely<Database>, feed: ChaosFeed, sinks: Sinks, baselineSeq: number): Promise<Verdict> {
  const problems: string[] = [];
  const { expected } = feed;

  // Every directory event once, delivered and processed; every direct event processed.
  const directory = await directoryEventsSince(db, baselineSeq);
  if (directory.undelivered > 0) problems.push(`${directory.undelivered} directory events were never delivered from the outbox`);
  const directIds = feed.changes.flatMap((change) => (change.kind === 'review' ? [change.eventId] : []));
  const wanted = new Set([...directory.ids, ...directIds]);
  const ingested = (await db.selectFrom('events').select(['id', 'processed_at', 'matches']).execute()).filter((row) => wanted.has(row.id));
  const processed = new Set(ingested.filter((row) => row.processed_at !== null).map((row) => row.id));
  const unprocessed = [...directory.ids, ...directIds].filter((id) => !processed.has(id));
  if (unprocessed.length > 0) problems.push(`events not ingested: ${some(unprocessed)}`);
  const failedStarts = ingested.flatMap((row) =>
    (JSON.parse(row.matches) as { automation: string; error?: string }[])
      .filter((m) => m.error)
      .map((m) => `${row.id} → ${m.automation}: ${m.error}`),
  );
  if (failedStarts.length > 0) problems.push(`runs that could not start: ${some(failedStarts)}`);
  const directoryDuplicates = compareDirectoryEvents(expected.events, directory.keys, problems);

  // Every expected run completed, once.
  const runs = await db.selectFrom('runs').select(['run_id', 'automation', 'status', 'error']).execute();
  const byStatus = Object.fromEntries(countBy(runs.map((run) => run.status)));
  const expectedRuns = Object.values(expected.runs).reduce((a, b) => a + b, 0);
  for (const [automation, count] of Object.entries(expected.runs)) {
    const actual = runs.filter((run) => run.automation === automation).length;
    if (actual !== count) problems.push(`${actual} ${automation} runs, expected ${count}`);
  }
  const unexpected = runs.filter((run) => !(run.automation in expected.runs)).map((run) => run.run_id);
  if (unexpected.length > 0) problems.push(`runs no change asked for: ${some(unexpected)}`);
  const notCompleted = runs
    .filter((run) => run.status !== 'completed')
    .map((run) => `${run.run_id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
  if (notCompleted.length > 0) problems.push(`runs not completed: ${some(notCompleted)}`);
  const retried = await db
    .selectFrom('run_steps')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('attempts', '>', 1)
    .executeTakeFirstOrThrow();

  await compareDirectory(db, feed, problems);

  // Messages by idempotency key.
  if (sinks.emails.size !== expected.emailRecipients.length)
    problems.push(`${sinks.emails.size} distinct emails (Message-IDs), expected ${expected.emailRecipients.length}`);
  const slackWanted = countBy(expected.slackTexts);
  const slackWrong = [...new Set([...slackWanted.keys(), ...sinks.slackMessages.keys()])].filter(
    (text) => !sinks.slackMessages.has(text) || !slackWanted.has(text),
  );
  if (slackWrong.length > 0) problems.push(`Slack messages missing or unexpected: ${some(slackWrong)}`);
  const idsByPayload = new Map<string, Set<string>>();
  let webhookDeliveries = 0;
  const unsigned: string[] = [];
  for (const [id, deliveries] of sinks.webhooks) {
    webhookDeliveries += deliveries.length;
    if (deliveries.some((delivery) => !delivery.signed)) unsigned.push(id);
    for (const { body } of deliveries) {
      const payload = `${body.event} ${body.user}`;
      idsByPayload.set(payload, (idsByPayload.get(payload) ?? new Set()).add(id));
    }
  }
  if (unsigned.length > 0) problems.push(`webhook deliveries without a valid signature: ${some(unsigned)}`);
  const webhookWrong = [...new Set([...expected.webhooks, ...idsByPayload.keys()])].filter(
    (payload) => !expected.webhooks.includes(payload) || idsByPayload.get(payload)?.size !== 1,
  );
  if (webhookWrong.length > 0) problems.push(`webhooks not delivered under exactly one webhook-id: ${some(webhookWrong)}`);

  const windows = await effectWindows(db, sinks);
  return {
    problems,
    runs: { expected: expectedRuns, completed: byStatus.completed ?? 0, byStatus, stepsRetried: retried.count },
    events: { directory: directory.ids.length, direct: directIds.length },
    duplicates: {
      directoryEvents: directoryDuplicates,
      emails: extraAcceptances(sinks.emails),
      slackMessages: extraAcceptances(sinks.slackMessages),
      webhookRedeliveries: webhookDeliveries - sinks.webhooks.size,
    },
    messages: { emails: sinks.emails.size, slackMessages: sinks.slackMessages.size, webhookIds: sinks.webhooks.size, webhookDeliveries },
    atMostOnceWindowMs: { samples: windows.length, p50: percentile(windows, 50), p99: percentile(windows, 99), max: windows.at(-1) ?? 0 },
  };
}
