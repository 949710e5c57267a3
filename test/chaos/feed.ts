/**
 * What the chaos run feeds idflow, and what that must produce, computed here from the feed alone
 * (never read back from idflow): a directory of people, a plan of lifecycle changes (joiners,
 * movers and leavers for HR imports; access reviews as direct events), and the model of the
 * directory, the directory events and the messages they lead to.
 *
 * Every person changes at most once, so the expected state does not depend on the order in
 * which concurrent runs of different people finish.
 */

export const DEPARTMENT_ACCESS: Record<string, string[]> = {
  Engineering: ['github:org-member', 'github:engineering', 'jira:user', 'jira:engineering'],
  Sales: ['salesforce:user', 'salesforce:sales-team'],
  Finance: ['netsuite:finance'],
  Support: [],
};
const DEPARTMENTS = Object.keys(DEPARTMENT_ACCESS);
export const BIRTHRIGHT = ['google:workspace', 'slack:member'];
/** What mover-access keeps of the old department (app access the new one also uses). */
const MOVER_KEEPS = ['github:org-member', 'jira:user'];
/** What leaver-access leaves a leaver (the mailbox, for handover). */
const LEAVER_KEEPS = ['google:workspace'];
const MANAGERS = 20;
const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie'];

export interface Person {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  department: string;
  title: string;
  managerEmail: string;
  status: 'ENABLED' | 'DISABLED';
}

export type Change =
  | { kind: 'joiner'; person: Person }
  | { kind: 'mover'; person: Person; from: string }
  | { kind: 'leaver'; person: Person }
  | { kind: 'review'; person: Person; eventId: string; revoke: string };

/** One delivery to idflow: an HR import of some people's rows, or one direct event. */
export type Delivery = { kind: 'import'; changes: Change[] } | { kind: 'event'; change: Extract<Change, { kind: 'review' }> };

/** A directory event the feed must cause, as (type, user, entitlement?). */
export type ExpectedEvent = string;
export const eventKey = (type: string, user: string, entitlement = ''): ExpectedEvent => `${type} ${user} ${entitlement}`.trim();

export interface ExpectedPerson {
  status: 'ENABLED' | 'DISABLED';
  department: string;
  grants: string[];
  /** The Google account a joiner gets, by the username function's rule. */
  googleAccount?: string;
  /** The reviewer of the leaver-review campaign a leaver gets. */
  campaignReviewer?: string;
}

export interface ChaosFeed {
  people: Person[];
  deliveries: Delivery[];
  changes: Change[];
  expected: {
    directory: Map<string, ExpectedPerson>;
    /** Directory events after the initial load, each exactly once. */
    events: ExpectedEvent[];
    /** Runs by automation. */
    runs: Record<string, number>;
    /** Recipients of exactly one email each. */
    emailRecipients: string[];
    /** Texts of exactly one Slack message each. */
    slackTexts: string[];
    /** webhook payloads `event user`, each delivered under one webhook-id. */
    webhooks: string[];
  };
}

/** mulberry32: a small seeded generator, so a seed reproduces a feed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** Letters only, so the username function's folding leaves the name as it is (jsmith, not jsmith1). */
function letters(n: number): string {
  let text = '';
  do {
    text = String.fromCharCode(97 + (n % 26)) + text;
    n = Math.floor(n / 26);
  } while (n > 0);
  return text;
}

function person(id: string, n: number, department: string): Person {
  const managerNumber = n === 1 ? undefined : n <= MANAGERS ? 1 : 2 + (n % (MANAGERS - 1));
  return {
    id,
    email: `${id}@chaos.example`,
    firstName: FIRST_NAMES[n % FIRST_NAMES.length],
    lastName: `Chaos${letters(n)}`,
    department,
    title: `${department} ${n <= MANAGERS ? 'Manager' : 'Specialist'}`,
    managerEmail: managerNumber === undefined ? '' : `p-${String(managerNumber).padStart(5, '0')}@chaos.example`,
    status: 'ENABLED',
  };
}

export const CSV_HEADER = 'id,email,firstName,lastName,department,title,managerEmail,employmentType,status';
export const csvRow = (p: Person): string =>
  [p.id, p.email, p.firstName, p.lastName, p.department, p.title, p.managerEmail, 'FULL_TIME', p.status].join(',');

/** The username examples/functions/username.ts gives a name no one else holds. */
const username = (p: Person): string => `${p.firstName[0]}${p.lastName}`.toLowerCase();

/**
 * A directory of `population` people (the first 20 manage the others and never change) and
 * `events` lifecycle changes of other people: 40% joiners, 25% movers, 20% leavers, 15% access
 * reviews. Imports carry 5–15 changes each.
 */
export function planFeed(options: { population: number; events: number; seed: number }): ChaosFeed {
  const random = seededRandom(options.seed);
  const people = Array.from({ length: options.population }, (_, i) =>
    person(`p-${String(i + 1).padStart(5, '0')}`, i + 1, pick(random, DEPARTMENTS)),
  );
  const changeable = people.slice(MANAGERS).sort(() => random() - 0.5);
  const needed = Math.ceil(options.events * 0.6);
  if (changeable.length < needed)
    throw new Error(
      `${options.events} events change ${needed} existing people at most once each: use a population of at least ${needed + MANAGERS}`,
    );

  const directory = new Map<string, ExpectedPerson>(
    people.map((p) => [p.id, { status: 'ENABLED', department: p.department, grants: [...BIRTHRIGHT, ...DEPARTMENT_ACCESS[p.department]] }]),
  );
  const events: ExpectedEvent[] = [];
  const runs: Record<string, number> = { 'joiner-access': 0, 'mover-access': 0, 'leaver-access': 0, 'review-revocation': 0 };
  const emailRecipients: string[] = [];
  const slackTexts: string[] = [];
  const webhooks: string[] = [];
  const changes: Change[] = [];
  let joiners = 0;

  for (let i = 0; i < options.events; i++) {
    const roll = random();
    const reviewable = changeable.length > 0 && DEPARTMENT_ACCESS[changeable[changeable.length - 1].department].length > 0;
    let change: Change;
    if (roll < 0.4 || changeable.length === 0) {
      const n = options.population + ++joiners;
      const joiner = person(`p-${String(n).padStart(5, '0')}`, n, pick(random, DEPARTMENTS));
      change = { kind: 'joiner', person: joiner };
      const grants = [...BIRTHRIGHT, ...DEPARTMENT_ACCESS[joiner.department]];
      directory.set(joiner.id, { status: 'ENABLED', department: joiner.department, grants, googleAccount: username(joiner) });
      events.push(
        eventKey('user.created', joiner.id),
        ...grants.map((g) => eventKey('grant.created', joiner.id, g)),
        eventKey('account.created', joiner.id),
      );
      runs['joiner-access']++;
      emailRecipients.push(joiner.email);
      slackTexts.push(welcomeText(joiner.id));
    } else if (roll < 0.65 || (roll >= 0.85 && !reviewable)) {
      const mover = changeable.pop() as Person;
      const from = mover.department;
      const moved = {
        ...mover,
        department: pick(
          random,
          DEPARTMENTS.filter((d) => d !== from),
        ),
      };
      change = { kind: 'mover', person: moved, from };
      const state = directory.get(mover.id) as ExpectedPerson;
      const revoked = DEPARTMENT_ACCESS[from].filter((g) => !MOVER_KEEPS.includes(g));
      const kept = state.grants.filter((g) => !revoked.includes(g));
      const granted = DEPARTMENT_ACCESS[moved.department].filter((g) => !kept.includes(g));
      directory.set(mover.id, { ...state, department: moved.department, grants: [...kept, ...granted] });
      events.push(
        eventKey('user.updated', mover.id),
        ...revoked.map((g) => eventKey('grant.revoked', mover.id, g)),
        ...granted.map((g) => eventKey('grant.created', mover.id, g)),
      );
      runs['mover-access']++;
      webhooks.push(`mover ${mover.id}`);
    } else if (roll < 0.85) {
      const leaver = changeable.pop() as Person;
      change = { kind: 'leaver', person: { ...leaver, status: 'DISABLED' } };
      const state = directory.get(leaver.id) as ExpectedPerson;
      const revoked = state.grants.filter((g) => !LEAVER_KEEPS.includes(g));
      directory.set(leaver.id, {
        ...state,
        status: 'DISABLED',
        grants: state.grants.filter((g) => LEAVER_KEEPS.includes(g)),
        campaignReviewer: leaver.managerEmail,
      });
      events.push(eventKey('user.deactivated', leaver.id), ...revoked.map((g) => eventKey('grant.revoked', leaver.id, g)));
      runs['leaver-access']++;
      webhooks.push(`leaver ${leaver.id}`);
      emailRecipients.push(leaver.managerEmail);
    } else {
      const reviewed = changeable.pop() as Person;
      const revoke = pick(random, DEPARTMENT_ACCESS[reviewed.department]);
      change = { kind: 'review', person: reviewed, eventId: `chaos-review-${reviewed.id}`, revoke };
      const state = directory.get(reviewed.id) as ExpectedPerson;
      directory.set(reviewed.id, { ...state, grants: state.grants.filter((g) => g !== revoke) });
      events.push(eventKey('grant.revoked', reviewed.id, revoke));
      runs['review-revocation']++;
      slackTexts.push(reviewText(reviewed.id, revoke));
    }
    changes.push(change);
  }

  // Leavers' managers get one email per leaver they manage: recipients repeat, so emails are counted per Message-ID.
  const deliveries: Delivery[] = [];
  let batch: Change[] = [];
  let batchSize = 5 + Math.floor(random() * 11);
  const flush = (): void => {
    if (batch.length > 0) deliveries.push({ kind: 'import', changes: batch });
    batch = [];
    batchSize = 5 + Math.floor(random() * 11);
  };
  for (const change of changes) {
    if (change.kind === 'review') deliveries.push({ kind: 'event', change });
    else {
      batch.push(change);
      if (batch.length >= batchSize) flush();
    }
  }
  flush();
  return { people, deliveries, changes, expected: { directory, events, runs, emailRecipients, slackTexts, webhooks } };
}

export const welcomeText = (id: string): string => `Welcome ${id}`;
export const reviewText = (id: string, entitlement: string): string => `Review revoked ${entitlement} from ${id}`;

/** An HR feed (CSV) of these people's rows as they are after their change. */
export const importCsv = (changes: Change[]): string => [CSV_HEADER, ...changes.map((c) => csvRow(c.person))].join('\n') + '\n';
