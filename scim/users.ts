/**
 * /Users: every directory person but the DELETED is a SCIM User. Each write is one directory
 * transaction that also queues the lifecycle event (user.created, user.updated with its changes,
 * user.deactivated), exactly as an HR import does, so automations run on what a client pushes.
 */
import type { JsonObject } from '../core/json.js';
import { randomUUID } from 'node:crypto';
import { diffUser, type DirectoryService, type DirectoryWriter } from '../directory/service.js';
import type { DirectoryOps } from '../directory/repository.js';
import { eventLoopTurns } from '../directory/turns.js';
import type { User, UserFields } from '../directory/types.js';
import type { ScimServiceConfig } from './document.js';
import { ScimError } from './errors.js';
import { userFields, userResource, type ManagerResolver } from './mapping.js';
import { applyPatch } from './patch.js';
import { normaliseResource } from './quirks.js';
import { matches } from './filter.js';
import { checkIfMatch, project, type ParsedListQuery, type Projection } from './resources.js';
import { USER_SCHEMA, validatedUser } from './schemas.js';

export interface ScimContext {
  directory: DirectoryService;
  config: ScimServiceConfig;
  /** The service's URL as its clients reach it (…/scim/v2): resources' locations start with it. */
  base: string;
}

/** People read per query while scanning the directory. */
const PAGE = 500;

async function* everyone(ops: DirectoryOps): AsyncGenerator<User> {
  const turn = eventLoopTurns();
  for (let afterId: string | undefined; ;) {
    const page = await ops.listUsers({ afterId, limit: PAGE });
    for (const user of page) yield user;
    if (page.length < PAGE) return;
    afterId = page[page.length - 1]?.id;
    await turn();
  }
}

const notFound = (id: string): ScimError => new ScimError(404, undefined, `no User with id "${id}"`);

const managerResolver =
  (ops: DirectoryOps): ManagerResolver =>
  async (ref) =>
    (await ops.getUser(ref)) ?? (ref.includes('@') ? await ops.getUserByEmail(ref) : undefined);

/** A user a client should edit the resource of: existing, and not DELETED. */
async function served(ops: DirectoryOps, id: string): Promise<User> {
  const user = await ops.getUser(id);
  if (!user || user.status === 'DELETED') throw notFound(id);
  return user;
}

export class ScimUsers {
  constructor(private readonly context: ScimContext) {}

  private resource(user: User): JsonObject {
    return userResource(user, this.context.config, this.context.base);
  }

  async get(id: string, projection: Projection): Promise<JsonObject> {
    return project(this.resource(await served(this.context.directory.repo, id)), projection);
  }

  /** Every User the query's filter matches, in id order (the directory is read a page at a time). */
  async resources(query: Pick<ParsedListQuery, 'filter'>): Promise<JsonObject[]> {
    const resources: JsonObject[] = [];
    for await (const user of everyone(this.context.directory.repo)) {
      if (user.status === 'DELETED') continue;
      const resource = this.resource(user);
      if (query.filter === undefined || matches(query.filter, resource)) resources.push(resource);
    }
    return resources;
  }

  /** The person whose User has this userName (case-insensitively), DELETED ones included. */
  private async named(ops: DirectoryOps, userName: string): Promise<User | undefined> {
    const wanted = userName.toLowerCase();
    for await (const user of everyone(ops)) if ((user.username ?? user.email).toLowerCase() === wanted) return user;
    return undefined;
  }

  /** Writes `fields` over `current` (or as a new person) with its event, refusing a userName or email someone else has. */
  private async save(tx: DirectoryWriter, current: User | undefined, fields: UserFields): Promise<JsonObject> {
    const userName = fields.username ?? fields.email;
    // The scan is the cost of a userName without an index: only a new or changed one pays it.
    if (current === undefined || (current.username ?? current.email).toLowerCase() !== userName.toLowerCase()) {
      const named = await this.named(tx.ops, userName);
      if (named && named.id !== fields.id) throw new ScimError(409, 'uniqueness', `userName "${userName}" is taken by User "${named.id}"`);
    }
    const holder = await tx.ops.getUserByEmail(fields.email);
    if (holder && holder.id !== fields.id)
      throw new ScimError(409, 'uniqueness', `the email "${fields.email}" belongs to User "${holder.id}"`);
    const change = diffUser(current, fields, new Date().toISOString());
    if (!change) return this.resource(current as User);
    await tx.saveUser(change);
    return this.resource(change.user);
  }

  /** POST /Users. A userName of a DELETED person brings that person back (user.updated), as the IdP re-creating them. */
  async create(body: JsonObject): Promise<JsonObject> {
    const resource = validatedUser(normaliseResource(body, USER_SCHEMA));
    return this.context.directory.write(async (tx) => {
      const existing = await this.named(tx.ops, resource.userName as string);
      if (existing && existing.status !== 'DELETED')
        throw new ScimError(409, 'uniqueness', `userName "${resource.userName as string}" is taken by User "${existing.id}"`);
      const fields = await userFields(
        resource,
        this.context.config,
        { id: existing?.id ?? randomUUID(), current: existing },
        managerResolver(tx.ops),
      );
      return this.save(tx, existing, fields);
    });
  }

  /** PUT /Users/:id: the resource replaces the mapped fields (see scim/mapping.ts). */
  async replace(id: string, body: JsonObject, ifMatch: string | undefined): Promise<JsonObject> {
    const resource = validatedUser(normaliseResource(body, USER_SCHEMA));
    return this.context.directory.write(async (tx) => {
      const current = await served(tx.ops, id);
      checkIfMatch(ifMatch, this.resource(current));
      return this.save(tx, current, await userFields(resource, this.context.config, { id, current }, managerResolver(tx.ops)));
    });
  }

  async patch(id: string, body: JsonObject, ifMatch: string | undefined): Promise<JsonObject> {
    return this.context.directory.write(async (tx) => {
      const current = await served(tx.ops, id);
      const resource = this.resource(current);
      checkIfMatch(ifMatch, resource);
      const patched = await applyPatch('User', resource, body);
      if (patched === undefined) return resource;
      return this.save(tx, current, await userFields(patched, this.context.config, { id, current }, managerResolver(tx.ops)));
    });
  }

  /**
   * DELETE /Users/:id: the person becomes DELETED (user.deactivated when they were ENABLED) and is
   * no longer served. With `onDelete: delete` their grants are revoked (grant.revoked), their
   * enrollments and delegations removed, and their record removed; accounts, tasks and campaigns
   * that name them stay as history.
   */
  async delete(id: string, ifMatch: string | undefined): Promise<void> {
    await this.context.directory.write(async (tx) => {
      const current = await served(tx.ops, id);
      checkIfMatch(ifMatch, this.resource(current));
      const change = diffUser(current, { ...current, status: 'DELETED' }, new Date().toISOString());
      if (change) await tx.saveUser(change);
      if (this.context.config.onDelete !== 'delete') return;
      await tx.revokeEntitlements({ user: id, all: true });
      for (const enrollment of await tx.ops.listEnrollments({ userId: id })) await tx.ops.deleteEnrollment(id, enrollment.profileId);
      for (const delegation of await tx.ops.listDelegates({ delegateId: id })) await tx.ops.deleteDelegate(delegation.userId);
      await tx.ops.deleteDelegate(id);
      await tx.ops.deleteUser(id);
    });
  }
}
