/**
 * idflow as a SCIM 2.0 service provider, driven the way Okta and Entra ID drive it: the examples
 * (examples/connectors/scim/) applied to a real engine, real HTTP on loopback, and the request sequences those
 * clients send. Each asserts the directory's state and that the lifecycle events went through the
 * outbox and ran the example automations (wiki for joiners, an account per pushed-group member,
 * revocation for leavers).
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import type { JsonObject } from '../core/json.js';
import type { User } from '../directory/types.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA } from '../scim/schemas.js';
import type { EventRecord } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { until } from './helpers/worker-process.js';

let idflow: TestEngine;
let api: FastifyInstance;
let base: string;
const tokens: Record<string, string> = {};

const example = (name: string) => readFile(new URL(`../examples/connectors/scim/${name}`, import.meta.url), 'utf8');

before(async () => {
  idflow = await startTestEngine();
  await idflow.apply([await example('access.yaml'), await example('okta.yaml'), await example('entra.yaml')].join('\n---\n'));
  api = await buildApiServer({ engine: idflow.engine });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}/scim/v2`;
  tokens.okta = await idflow.store.tokens.create('okta', ['scim']);
  tokens.entra = await idflow.store.tokens.create('entra-provisioning', ['scim']);
});

after(async () => {
  await api?.close();
  await idflow?.stop();
});

interface ScimAnswer {
  status: number;
  body: JsonObject;
  headers: Headers;
}

async function scim(
  client: 'okta' | 'entra',
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ScimAnswer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[client]}`, 'content-type': 'application/scim+json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as JsonObject), headers: response.headers };
}

const patchOp = (...operations: JsonObject[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations: operations });
const filtered = (what: string, filter: string) => `/${what}?filter=${encodeURIComponent(filter)}&startIndex=1&count=100`;

async function user(id: string): Promise<User | undefined> {
  return idflow.store.directory.getUser(id);
}

/** The directory events about a user that reached the pipeline (delivered from the outbox and ingested), once there are `count`. */
async function eventsAbout(id: string, type: string, count: number): Promise<EventRecord[]> {
  let about: EventRecord[] = [];
  await until(`${count} ${type} events about ${id}`, async () => {
    const events = await idflow.store.events.list({ type, limit: 500 });
    about = events.filter((event) => {
      const data = event.data as { newUser?: { id?: string }; user?: { id?: string } };
      return (data.newUser ?? data.user)?.id === id;
    });
    return about.length >= count;
  });
  assert.equal(about.length, count, `${type} events about ${id}`);
  return about;
}

/** Waits until the automation completed a run on an event about the user. */
async function ranFor(automation: string, id: string): Promise<void> {
  await until(`${automation} completed for ${id}`, async () => {
    for (const run of await idflow.store.runs.list({ automation, limit: 500 })) {
      if (run.status !== 'completed' || run.eventId === undefined) continue;
      const event = await idflow.store.events.get(run.eventId);
      const data = event?.data as { newUser?: { id?: string }; user?: { id?: string } } | undefined;
      if ((data?.newUser ?? data?.user)?.id === id) return true;
    }
    return false;
  });
}

const grantsOf = async (id: string) => (await idflow.store.directory.listGrants({ userId: id })).map((grant) => grant.entitlement).sort();

describe('Okta', () => {
  test('looks a person up, creates them, updates them path-less and with PUT, pushes a group, deactivates and deletes them', async () => {
    const lookup = await scim('okta', 'GET', filtered('Users', 'userName eq "ada.lovelace@acme.example"'));
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.totalResults, 0);

    const created = await scim('okta', 'POST', '/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
      userName: 'ada.lovelace@acme.example',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ primary: true, value: 'ada.lovelace@acme.example', type: 'work' }],
      displayName: 'Ada Lovelace',
      locale: 'en-GB',
      externalId: '00u1ada',
      userType: 'Employee',
      active: true,
      [ENTERPRISE_SCHEMA]: { department: 'Engineering', employeeNumber: 'E-1815', costCenter: 'CC-7' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.get('content-type'), 'application/scim+json; charset=utf-8');
    const id = created.body.id as string;
    assert.equal(created.headers.get('location'), `${base}/Users/${id}`);
    assert.equal(created.headers.get('etag'), (created.body.meta as JsonObject).version);
    const stored = await user(id);
    assert.equal(stored?.email, 'ada.lovelace@acme.example');
    assert.equal(stored?.username, 'ada.lovelace@acme.example');
    assert.equal(stored?.firstName, 'Ada');
    assert.equal(stored?.department, 'Engineering');
    assert.equal(stored?.employmentType, 'Employee');
    assert.equal(stored?.status, 'ENABLED');
    assert.deepEqual(
      [stored?.attributes.externalId, stored?.attributes.employeeNumber, stored?.attributes.costCenter],
      ['00u1ada', 'E-1815', 'CC-7'],
    );
    assert.deepEqual(stored?.attributes.scim, { locale: 'en-GB', emails: [{ primary: true, type: 'work' }] }, 'unmapped attributes kept');
    await ranFor('scim-joiner', id);
    assert.deepEqual(await grantsOf(id), ['wiki:reader'], 'user.created ran the joiner automation');

    const found = await scim('okta', 'GET', filtered('Users', 'userName eq "ADA.LOVELACE@acme.example"'));
    assert.equal(found.body.totalResults, 1, 'userName compares case-insensitively');
    assert.deepEqual((found.body.Resources as JsonObject[])[0], (await scim('okta', 'GET', `/Users/${id}`)).body);

    const pathless = await scim(
      'okta',
      'PATCH',
      `/Users/${id}`,
      patchOp({
        op: 'replace',
        value: { name: { givenName: 'Augusta' }, title: 'Countess', [`${ENTERPRISE_SCHEMA}:department`]: 'Research' },
      }),
    );
    assert.equal(pathless.status, 200, JSON.stringify(pathless.body));
    assert.deepEqual(pathless.body.name, { givenName: 'Augusta', familyName: 'Lovelace' }, 'sub-attributes not given stay');
    let after = await user(id);
    assert.deepEqual([after?.firstName, after?.lastName, after?.title, after?.department], ['Augusta', 'Lovelace', 'Countess', 'Research']);
    const updates = await eventsAbout(id, 'user.updated', 1);
    assert.deepEqual(((updates[0]?.data as JsonObject).changes as string[]).sort(), ['department', 'firstName', 'title']);

    const replaced = await scim('okta', 'PUT', `/Users/${id}`, {
      schemas: [USER_SCHEMA],
      userName: 'ada.lovelace@acme.example',
      name: { givenName: 'Ada', familyName: 'King' },
      emails: [{ primary: true, value: 'ada.king@acme.example', type: 'work' }],
      active: true,
    });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    after = await user(id);
    assert.deepEqual(
      [after?.lastName, after?.email, after?.title, after?.department],
      ['King', 'ada.king@acme.example', undefined, undefined],
    );
    assert.equal(after?.attributes.employeeNumber, undefined, 'a PUT replaces: what it leaves out is cleared');

    // Push Groups: Okta creates the group, then adds and removes members with PATCH.
    const group = await scim('okta', 'POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [] });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    assert.equal(group.body.id, 'okta:engineering');
    const entitlement = await idflow.store.directory.getEntitlement('okta:engineering');
    assert.deepEqual([entitlement?.app, entitlement?.displayName], ['okta', 'Engineering'], 'an entitlement of the groups app, created');
    const byName = await scim('okta', 'GET', `${filtered('Groups', 'displayName eq "engineering"')}&excludedAttributes=members`);
    assert.equal(byName.body.totalResults, 1);
    const added = await scim('okta', 'PATCH', '/Groups/okta:engineering', patchOp({ op: 'add', path: 'members', value: [{ value: id }] }));
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(await grantsOf(id), ['okta:engineering', 'wiki:reader']);
    assert.equal((await idflow.store.directory.getGrant(id, 'okta:engineering'))?.source, 'scim okta');
    await ranFor('scim-group-member', id);
    assert.equal(
      (await idflow.store.directory.findAccount('wiki', id))?.username,
      'ada.lovelace@acme.example',
      'grant.created ran its automation',
    );
    const members = await scim('okta', 'GET', filtered('Groups', `members[value eq "${id}"]`));
    assert.deepEqual(
      (members.body.Resources as JsonObject[]).map((g) => g.id),
      ['okta:engineering'],
    );
    const removed = await scim('okta', 'PATCH', '/Groups/okta:engineering', patchOp({ op: 'remove', path: `members[value eq "${id}"]` }));
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(removed.body.members, undefined);
    assert.deepEqual(await grantsOf(id), ['wiki:reader']);
    await eventsAbout(id, 'grant.revoked', 1);

    // Deactivation: a path-less replace of active.
    const deactivated = await scim('okta', 'PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }));
    assert.equal(deactivated.body.active, false);
    assert.equal((await user(id))?.status, 'DISABLED');
    await ranFor('scim-leaver', id);
    assert.deepEqual(await grantsOf(id), [], 'user.deactivated ran the leaver automation');

    assert.equal((await scim('okta', 'DELETE', `/Users/${id}`)).status, 204);
    assert.equal((await user(id))?.status, 'DELETED', 'onDelete: deactivate keeps the record');
    const gone = await scim('okta', 'GET', `/Users/${id}`);
    assert.equal(gone.status, 404);
    assert.equal((gone.body.schemas as string[])[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
    assert.equal((await scim('okta', 'GET', filtered('Users', 'userName eq "ada.lovelace@acme.example"'))).body.totalResults, 0);
  });
});

describe('Entra ID', () => {
  test('creates a person with its own attribute names, patches with its quirks, manages a group, deactivates with "False" and deletes', async () => {
    const manager = await scim('entra', 'POST', '/Users', {
      schemas: [USER_SCHEMA],
      externalId: 'grace',
      userName: 'grace@acme.example',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'grace@acme.example' }],
    });
    assert.equal(manager.status, 201, JSON.stringify(manager.body));
    assert.equal((await scim('entra', 'GET', filtered('Users', 'userName eq "alan@acme.example"'))).body.totalResults, 0);
    const created = await scim('entra', 'POST', '/Users', {
      schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
      externalId: 'alan',
      userName: 'alan@acme.example',
      active: true,
      addresses: [{ primary: false, type: 'work', locality: 'Manchester', country: 'GB' }],
      displayName: 'Alan Turing',
      emails: [{ primary: true, type: 'work', value: 'alan@acme.example' }],
      meta: { resourceType: 'User' },
      name: { familyName: 'Turing', givenName: 'Alan', formatted: 'Alan Turing' },
      title: 'Researcher',
      [ENTERPRISE_SCHEMA]: { employeeNumber: '1912', department: 'Research' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    let stored = await user(id);
    assert.equal(stored?.location, 'Manchester', 'the ScimService maps the work address locality to location');
    assert.equal(stored?.attributes.mailNickname, 'alan', 'and externalId to attributes.mailNickname');
    assert.equal(stored?.attributes.externalId, undefined, 'a default unmapped with null');
    assert.deepEqual(stored?.attributes.scim, {
      addresses: [{ primary: false, type: 'work', country: 'GB' }],
      name: { formatted: 'Alan Turing' },
      emails: [{ primary: true, type: 'work' }],
    });
    await ranFor('scim-joiner', id);

    const patched = await scim(
      'entra',
      'PATCH',
      `/Users/${id}`,
      patchOp(
        { op: 'Replace', path: 'displayName', value: 'A. M. Turing' },
        { op: 'Add', path: `${ENTERPRISE_SCHEMA}:manager`, value: manager.body.id as string },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'turing@acme.example' },
      ),
    );
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    stored = await user(id);
    assert.deepEqual(
      [stored?.displayName, stored?.email, stored?.managerId, stored?.manager],
      ['A. M. Turing', 'turing@acme.example', manager.body.id, 'grace@acme.example'],
    );
    assert.deepEqual((patched.body[ENTERPRISE_SCHEMA] as JsonObject).manager, { value: manager.body.id });
    const [update] = await eventsAbout(id, 'user.updated', 1);
    assert.deepEqual(((update?.data as JsonObject).changes as string[]).sort(), ['displayName', 'email', 'manager', 'managerId']);

    const group = await scim('entra', 'POST', '/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: 'Research Staff',
      externalId: 'f00d',
      members: [],
    });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    const groupId = group.body.id as string;
    assert.equal(groupId, 'entra:research-staff');
    const add = await scim('entra', 'PATCH', `/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }] }));
    assert.equal(add.status, 200, JSON.stringify(add.body));
    await ranFor('scim-group-member', id);
    assert.deepEqual(await grantsOf(id), ['entra:research-staff', 'wiki:reader']);
    const remove = await scim('entra', 'PATCH', `/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: id }] }));
    assert.equal(remove.status, 200, JSON.stringify(remove.body));
    assert.deepEqual(await grantsOf(id), ['wiki:reader']);
    assert.equal(
      (await scim('entra', 'PATCH', `/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }] }))).status,
      200,
    );

    const soft = await scim('entra', 'PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    assert.equal(soft.status, 200, JSON.stringify(soft.body));
    assert.equal(soft.body.active, false);
    assert.equal((await user(id))?.status, 'DISABLED');
    await eventsAbout(id, 'user.deactivated', 1);
    await ranFor('scim-leaver', id);
    assert.deepEqual(await grantsOf(id), []);

    await scim('entra', 'PATCH', `/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }] }));
    assert.deepEqual(await grantsOf(id), ['entra:research-staff']);
    const deleted = await scim('entra', 'DELETE', `/Users/${id}`);
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.equal(await user(id), undefined, 'onDelete: delete removes the record');
    assert.deepEqual(await grantsOf(id), [], 'after revoking what it held');
    assert.equal((await scim('entra', 'GET', `/Groups/${groupId}`)).body.members, undefined);
    assert.equal((await scim('entra', 'GET', `/Users/${id}`)).status, 404);

    assert.equal((await scim('entra', 'DELETE', `/Groups/${groupId}`)).status, 204);
    assert.equal(await idflow.store.directory.getEntitlement(groupId), undefined);
  });
});
