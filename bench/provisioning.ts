/**
 * Outbound provisioning against python-scim's scim2-server on loopback (the app the tests use),
 * through the governance actions the steps call (provisioning/service.ts; no Temporal, so the
 * figures are provisioning's own): operations per second — a person's account created
 * (create_account) and their two groups joined (grant_entitlements), one person at a time and
 * eight at once — then reconciling the resulting 1,000-person app with the directory, with no
 * drift and with 5% of it made behind idflow's back and fixed (--apply).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryService } from '../directory/service.js';
import type { App, User } from '../directory/types.js';
import { FunctionService } from '../functions/service.js';
import { ProvisioningService } from '../provisioning/service.js';
import { openStore } from '../store/index.js';
import { startScimServer } from '../test/helpers/scim-tools.js';

const PEOPLE = 1_000;
/** The first people are provisioned one at a time, as many again AT_ONCE at a time (the app about as large), then the rest AT_ONCE at a time. */
const ONE_AT_A_TIME = 100;
const AT_ONCE = 8;
/** Of the 1,000 people, this many of each kind of drift are made in the app directly. */
const DRIFT_EACH = 50;

export interface ProvisioningBenchFigures {
  people: number;
  /** Governance operations (create_account, grant_entitlements) per second, and the SCIM requests they made. */
  sequential: { operations: number; perSecond: number; requestsPerOperation: number; idflowMsPerOperation: number };
  concurrent: { operations: number; atOnce: number; perSecond: number };
  /** The rest, while the app grows to PEOPLE users in groups of as many. */
  growing: { operations: number; perSecond: number };
  reconcile: { appUsers: number; noDriftMs: number; drift: number; applyMs: number; fixed: number; afterwards: number };
}

/** Counts the requests this process makes (the SCIM client uses the global fetch) and the time until their answers. */
function countRequests(): { count(): number; waitedMs(): number; restore(): void } {
  const original = globalThis.fetch;
  let requests = 0;
  let waitedMs = 0;
  globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
    requests++;
    const sent = performance.now();
    try {
      return await original(...args);
    } finally {
      waitedMs += performance.now() - sent;
    }
  };
  return { count: () => requests, waitedMs: () => waitedMs, restore: () => (globalThis.fetch = original) };
}

export async function benchProvisioning(): Promise<ProvisioningBenchFigures> {
  const app = await startScimServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-bench-provisioning-'));
  const store = await openStore({ file: join(dataDir, 'idflow.sqlite') });
  const functions = new FunctionService({ store, env: {} });
  const requests = countRequests();
  try {
    const directory = new DirectoryService(store.directory);
    const provisioning = ProvisioningService.create({ env: { BENCH_SCIM_TOKEN: app.token }, store, directory, functions });
    const bench: App = {
      id: 'bench',
      slug: 'bench',
      displayName: 'Bench',
      provisioning: {
        scim: { baseUrl: app.url, token: { env: 'BENCH_SCIM_TOKEN' } },
        groups: { engineering: 'Engineering', 'org-member': 'Org Members' },
        actions: {},
      },
    };
    await store.directory.putApp(bench);
    for (const slug of ['engineering', 'org-member'])
      await store.directory.putEntitlement({ id: `bench:${slug}`, appId: 'bench', app: 'bench', slug, displayName: slug });
    const now = new Date().toISOString();
    const people: User[] = Array.from({ length: PEOPLE }, (_, i) => ({
      id: `p-${String(i + 1).padStart(4, '0')}`,
      email: `person${i + 1}@acme.example`,
      firstName: `First${i + 1}`,
      lastName: `Last${i + 1}`,
      status: 'ENABLED',
      attributes: {},
      createdAt: now,
      updatedAt: now,
    }));
    for (const person of people) await store.directory.putUser(person);

    const activity = { signal: new AbortController().signal, heartbeat: () => undefined };
    const provision = async (person: User): Promise<void> => {
      const origin = { source: 'bench' };
      await provisioning
        .forStep(`bench:${person.id}.account`, origin, activity)
        .createAccount({ app: 'bench', user: person.id, method: 'from_user' });
      await provisioning
        .forStep(`bench:${person.id}.grant`, origin, activity)
        .grantEntitlements({ user: person.id, entitlements: ['bench:org-member', 'bench:engineering'] });
    };

    let started = performance.now();
    const before = requests.count();
    const waitedBefore = requests.waitedMs();
    for (const person of people.slice(0, ONE_AT_A_TIME)) await provision(person);
    const sequentialSeconds = (performance.now() - started) / 1000;
    const sequentialOperations = ONE_AT_A_TIME * 2;
    const requestsPerOperation = (requests.count() - before) / sequentialOperations;
    // What is not waiting for the app's answers: idflow's lookups, the directory's transaction, the effect.
    const idflowMsPerOperation = (sequentialSeconds * 1000 - (requests.waitedMs() - waitedBefore)) / sequentialOperations;

    /** Provisions `batch` AT_ONCE at a time; the seconds it took. */
    const atOnce = async (batch: User[]): Promise<number> => {
      const began = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: AT_ONCE }, async () => {
          while (next < batch.length) await provision(batch[next++] as User);
        }),
      );
      return (performance.now() - began) / 1000;
    };
    const second = people.slice(ONE_AT_A_TIME, ONE_AT_A_TIME * 2);
    const concurrentSeconds = await atOnce(second);
    const rest = people.slice(ONE_AT_A_TIME * 2);
    const growingSeconds = await atOnce(rest);

    const reconcile = (apply: boolean) => provisioning.reconcile('bench', { apply, signal: activity.signal });
    started = performance.now();
    const clean = await reconcile(false);
    const noDriftMs = performance.now() - started;
    if (clean.drift.length > 0) throw new Error(`the provisioned app has drift: ${JSON.stringify(clean.drift.slice(0, 3))}`);

    await makeDrift(app.url, app.token);
    started = performance.now();
    const applied = await reconcile(true);
    const applyMs = performance.now() - started;
    const afterwards = (await reconcile(false)).drift.length;

    return {
      people: PEOPLE,
      sequential: {
        operations: sequentialOperations,
        perSecond: sequentialOperations / sequentialSeconds,
        requestsPerOperation,
        idflowMsPerOperation,
      },
      concurrent: { operations: second.length * 2, atOnce: AT_ONCE, perSecond: (second.length * 2) / concurrentSeconds },
      growing: { operations: rest.length * 2, perSecond: (rest.length * 2) / growingSeconds },
      reconcile: { appUsers: clean.compared.appUsers, noDriftMs, drift: applied.drift.length, applyMs, fixed: applied.fixed, afterwards },
    };
  } finally {
    requests.restore();
    functions.close();
    await store.close();
    await app.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** 5% of each kind, straight in the app: users deactivated, members removed, and users nobody in the directory has. */
async function makeDrift(url: string, token: string): Promise<void> {
  const call = async (method: string, path: string, body?: object): Promise<{ Resources?: { id: string }[] }> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? {} : ((await response.json()) as { Resources?: { id: string }[] });
  };
  const patch = (operations: object[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });
  const users = (await call('GET', `/Users?count=${PEOPLE}`)).Resources ?? [];
  const [group] = (await call('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}`)).Resources ?? [];
  for (const user of users.slice(0, DRIFT_EACH))
    await call('PATCH', `/Users/${user.id}`, patch([{ op: 'replace', path: 'active', value: false }]));
  for (const user of users.slice(DRIFT_EACH, DRIFT_EACH * 2))
    await call('PATCH', `/Groups/${group?.id}`, patch([{ op: 'remove', path: `members[value eq "${user.id}"]` }]));
  for (let i = 0; i < DRIFT_EACH; i++)
    await call('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `stranger-${i}`, active: true });
}

export function describeProvisioning(figures: ProvisioningBenchFigures): string {
  const { sequential, concurrent, growing, reconcile } = figures;
  return [
    `SCIM provisioning into scim2-server on loopback: ${sequential.perSecond.toFixed(1)} operations/s one at a time (${sequential.operations} create_account + grant_entitlements of 2 groups, ${sequential.requestsPerOperation.toFixed(1)} SCIM requests each; ${sequential.idflowMsPerOperation.toFixed(1)} ms of each is idflow's, the rest waits for the app), ${concurrent.perSecond.toFixed(1)} operations/s ${concurrent.atOnce} at once (the next ${concurrent.operations}), ${growing.perSecond.toFixed(1)} operations/s for the last ${growing.operations} while the app grows to ${figures.people} users in groups of as many (scim2-server answers one request at a time, so more at once gains nothing, and slows as it grows)`,
    `reconcile ${reconcile.appUsers} app users with ${figures.people} people: ${(reconcile.noDriftMs / 1000).toFixed(2)} s without drift; with ${reconcile.drift} differences made in the app, --apply ${(reconcile.applyMs / 1000).toFixed(2)} s (${reconcile.fixed} fixed, ${reconcile.afterwards} left)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(describeProvisioning(await benchProvisioning()));
