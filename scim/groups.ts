/**
 * /Groups: a SCIM Group is an entitlement of the service's groups app (created when missing), its
 * members the users granted it. Membership changes go through the directory's grant and revoke,
 * so each fires grant.created / grant.revoked like a governance step, with the source
 * `scim <service>`. Entitlements a Directory document declared in that app are Groups too: a
 * client that finds one by displayName links to it.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { createHash } from 'node:crypto';
import type { DirectoryWriter } from '../directory/service.js';
import type { DirectoryOps } from '../directory/repository.js';
import type { App, Entitlement, Grant } from '../directory/types.js';
import { ScimError } from './errors.js';
import type { Filter } from './filter.js';
import { versionOf } from './mapping.js';
import { applyPatch } from './patch.js';
import { normaliseResource } from './quirks.js';
import { checkIfMatch, filtered, project, type ParsedListQuery, type Projection } from './resources.js';
import { GROUP_SCHEMA, validatedGroup } from './schemas.js';
import type { ScimContext } from './users.js';

const notFound = (id: string): ScimError => new ScimError(404, undefined, `no Group with id "${id}"`);

/** An entitlement slug for a displayName: lowercase words joined by "-"; a name without any gets one from its hash. */
export function groupSlug(displayName: string): string {
  const words = displayName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|-+$/g, '')
    .slice(0, 64);
  return words === '' ? `group-${createHash('sha256').update(displayName).digest('hex').slice(0, 10)}` : words;
}

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a filter looks at members (then they are read even when the answer leaves them out). */
function mentionsMembers(filter: Filter | undefined): boolean {
  if (filter === undefined) return false;
  if (filter.op === 'and' || filter.op === 'or') return filter.filters.some(mentionsMembers);
  if (filter.op === 'not') return mentionsMembers(filter.filter);
  return 'attrPath' in filter && filter.attrPath.toLowerCase().startsWith('members');
}

/** The user ids a Group resource names as members; only Users can be members. */
function memberIds(resource: JsonObject): string[] {
  const members = resource.members;
  if (members === undefined || members === null) return [];
  if (!Array.isArray(members)) throw new ScimError(400, 'invalidValue', 'members must be a list');
  return [
    ...new Set(
      members.map((member) => {
        if (!isObject(member) || typeof member.value !== 'string')
          throw new ScimError(400, 'invalidValue', 'each member needs a value: a User id');
        if (typeof member.type === 'string' && member.type.toLowerCase() === 'group')
          throw new ScimError(400, 'invalidValue', `member "${member.value}" is a Group: idflow's groups hold users only`);
        return member.value;
      }),
    ),
  ];
}

export class ScimGroups {
  constructor(private readonly context: ScimContext) {}

  private get source(): string {
    return `scim ${this.context.config.name}`;
  }

  private resource(entitlement: Entitlement, grants: Grant[] | undefined): JsonObject {
    const { base } = this.context;
    const resource: JsonObject = {
      schemas: [GROUP_SCHEMA],
      id: entitlement.id,
      ...(entitlement.externalId !== undefined && { externalId: entitlement.externalId }),
      displayName: entitlement.displayName,
      ...(grants !== undefined &&
        grants.length > 0 && {
          members: grants.map((grant) => ({
            value: grant.userId,
            $ref: `${base}/Users/${encodeURIComponent(grant.userId)}`,
            type: 'User',
          })),
        }),
    };
    // The version covers the members: without them (excludedAttributes=members) a list leaves it out.
    resource.meta = {
      resourceType: 'Group',
      location: `${base}/Groups/${encodeURIComponent(entitlement.id)}`,
      ...(grants !== undefined && { version: versionOf(resource) }),
    };
    return resource;
  }

  private async app(ops: DirectoryOps): Promise<App | undefined> {
    return ops.getAppBySlug(this.context.config.groupsApp);
  }

  /** The groups app, created (id and slug the configured name) when missing. */
  private async ensureApp(ops: DirectoryOps): Promise<App> {
    const slug = this.context.config.groupsApp;
    const found = await ops.getAppBySlug(slug);
    if (found) return found;
    if (await ops.getApp(slug))
      throw new ScimError(409, undefined, `an app with the id "${slug}" has another slug: name another groupsApp`);
    const app: App = { id: slug, slug, displayName: slug };
    await ops.putApp(app);
    return app;
  }

  /** An entitlement of the groups app by id; 404 for any other. */
  private async entitlement(ops: DirectoryOps, id: string): Promise<Entitlement> {
    const app = await this.app(ops);
    const entitlement = await ops.getEntitlement(id);
    if (!app || !entitlement || entitlement.appId !== app.id) throw notFound(id);
    return entitlement;
  }

  async get(id: string, projection: Projection): Promise<JsonObject> {
    const ops = this.context.directory.repo;
    const entitlement = await this.entitlement(ops, id);
    return project(this.resource(entitlement, await ops.listGrants({ entitlementId: entitlement.id })), projection);
  }

  /** Every Group the query's filter matches; members are read unless the answer leaves them out and the filter does not look. */
  async resources(query: Pick<ParsedListQuery, 'filter' | 'projection'>): Promise<JsonObject[]> {
    const ops = this.context.directory.repo;
    const app = await this.app(ops);
    const withMembers =
      mentionsMembers(query.filter) ||
      !(query.projection.excludedAttributes ?? []).some((path) => path.attribute.toLowerCase() === 'members');
    const resources: JsonObject[] = [];
    for (const entitlement of app ? await ops.listEntitlements(app.id) : [])
      resources.push(this.resource(entitlement, withMembers ? await ops.listGrants({ entitlementId: entitlement.id }) : undefined));
    return filtered(resources, query.filter);
  }

  /** Refuses a displayName another group of the app has (case-insensitively): a client looking it up would find two. */
  private async checkName(ops: DirectoryOps, app: App, displayName: string, id: string | undefined): Promise<void> {
    const wanted = displayName.toLowerCase();
    const other = (await ops.listEntitlements(app.id)).find((e) => e.id !== id && e.displayName.toLowerCase() === wanted);
    if (other) throw new ScimError(409, 'uniqueness', `a Group named "${other.displayName}" exists: id "${other.id}"`);
  }

  /** Grants and revokes so that exactly `wanted` hold the entitlement. */
  private async setMembers(tx: DirectoryWriter, entitlement: Entitlement, wanted: string[]): Promise<Grant[]> {
    const current = await tx.ops.listGrants({ entitlementId: entitlement.id });
    const holders = new Set(current.map((grant) => grant.userId));
    const keep = new Set(wanted);
    for (const userId of wanted) {
      if (holders.has(userId)) continue;
      const user = await tx.ops.getUser(userId);
      if (!user || user.status === 'DELETED') throw new ScimError(400, 'invalidValue', `member "${userId}" is not a User here`);
      await tx.grantEntitlements({ user: userId, entitlements: [entitlement.id] }, { source: this.source });
    }
    for (const grant of current)
      if (!keep.has(grant.userId)) await tx.revokeEntitlements({ user: grant.userId, entitlements: [entitlement.id] });
    return tx.ops.listGrants({ entitlementId: entitlement.id });
  }

  /** Writes the displayName, externalId and members of a validated Group resource. */
  private async save(tx: DirectoryWriter, app: App, current: Entitlement | undefined, resource: JsonObject): Promise<JsonObject> {
    const displayName = resource.displayName as string;
    const members = memberIds(resource);
    await this.checkName(tx.ops, app, displayName, current?.id);
    let entitlement: Entitlement;
    if (current) entitlement = { ...current, displayName };
    else {
      const slug = groupSlug(displayName);
      const id = `${app.slug}:${slug}`;
      if ((await tx.ops.getEntitlementBySlug(app.id, slug)) || (await tx.ops.getEntitlement(id)))
        throw new ScimError(409, 'uniqueness', `the entitlement "${id}" exists: name the Group differently`);
      entitlement = { id, appId: app.id, app: app.slug, slug, displayName };
    }
    if (typeof resource.externalId === 'string') entitlement.externalId = resource.externalId;
    else delete entitlement.externalId;
    await tx.ops.putEntitlement(entitlement);
    return this.resource(entitlement, await this.setMembers(tx, entitlement, members));
  }

  async create(body: JsonObject): Promise<JsonObject> {
    const resource = validatedGroup(normaliseResource(body, GROUP_SCHEMA));
    return this.context.directory.write(async (tx) => this.save(tx, await this.ensureApp(tx.ops), undefined, resource));
  }

  async replace(id: string, body: JsonObject, ifMatch: string | undefined): Promise<JsonObject> {
    const resource = validatedGroup(normaliseResource(body, GROUP_SCHEMA));
    return this.context.directory.write(async (tx) => {
      const current = await this.entitlement(tx.ops, id);
      checkIfMatch(ifMatch, this.resource(current, await tx.ops.listGrants({ entitlementId: id })));
      return this.save(tx, (await this.app(tx.ops)) as App, current, resource);
    });
  }

  async patch(id: string, body: JsonObject, ifMatch: string | undefined): Promise<JsonObject> {
    return this.context.directory.write(async (tx) => {
      const current = await this.entitlement(tx.ops, id);
      const resource = this.resource(current, await tx.ops.listGrants({ entitlementId: id }));
      checkIfMatch(ifMatch, resource);
      const patched = await applyPatch('Group', resource, body);
      return patched === undefined ? resource : this.save(tx, (await this.app(tx.ops)) as App, current, patched);
    });
  }

  /** DELETE /Groups/:id: every member's grant revoked (grant.revoked), then the entitlement removed. */
  async delete(id: string, ifMatch: string | undefined): Promise<void> {
    await this.context.directory.write(async (tx) => {
      const current = await this.entitlement(tx.ops, id);
      const grants = await tx.ops.listGrants({ entitlementId: id });
      checkIfMatch(ifMatch, this.resource(current, grants));
      const profile = (await tx.ops.listAccessProfiles()).find((p) => p.entitlements.includes(id));
      if (profile)
        throw new ScimError(409, undefined, `access profile "${profile.id}" includes the entitlement "${id}": take it out first`);
      for (const grant of grants) await tx.revokeEntitlements({ user: grant.userId, entitlements: [id] });
      await tx.ops.deleteEntitlement(id);
    });
  }
}
