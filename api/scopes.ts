/**
 * The scope model in one place: what each route needs (ROUTE_ACCESS, enforced by the server's
 * onRequest hook and mirrored in docs/api.md, which test/api-scopes.test.ts checks), and what
 * applying each kind of document needs (documentScopes). An automation is a standing order to
 * act: applying one needs, besides definitions:write, the scope of every effect its steps cause
 * that definitions:write does not cover on its own.
 */
import type { AutomationSpec } from '../definitions/schema.js';
import type { LoadedDocument } from '../definitions/load.js';
import type { DirectoryDocument } from '../directory/document.js';
import type { App } from '../directory/types.js';
import type { EventSourceSpec } from '../sources/document.js';
import { stepRegistry } from '../steps/registry.js';
import type { Scope } from '../store/types.js';

/** Every scope, with what a token holding it can cause (docs/api.md has the longer table). */
export const SCOPE_EFFECTS: Record<Scope, string> = {
  admin: 'everything, and the audit log',
  'definitions:read': 'read automations, webhooks, event sources and schedules',
  'definitions:write': 'apply, roll back, enable and disable automations, webhooks and event sources',
  'events:write': 'send events: every enabled automation on the event type runs with the data sent',
  'events:read': "read events and what they matched, and event sources' deliveries",
  'runs:read': 'read runs (step inputs and outputs) and the dev outbox',
  'runs:write':
    'run any enabled automation with any context; cancel runs, retry failed ones and discard runs the guard holds; trigger, pause and backfill schedules',
  'directory:read':
    "read users, grants, accounts, tasks, delegates, enrollments and campaigns; compare an app's users and groups with them (reconcile)",
  'directory:write': "import HR feeds and apply Directory documents; reconcile apps with apply; set apps' sealed secrets",
  'functions:read': 'read functions, their versions and secret names',
  'functions:write': "publish and roll back functions, set and delete their secrets (a function's code sees its secrets)",
  'functions:run': "run functions by hand and their test cases: the output can carry the function's secrets",
  'metrics:read':
    'read the Prometheus metrics: counts and latencies by event type, automation, step type and route; never data, ids or tokens',
  scim: 'push people and groups over SCIM 2.0 (/scim/v2): writes users and group grants, whose events run automations',
  plan: 'with the read scope of what is planned: say what an event, a run or an HR import would do, and replay past events against a version, changing nothing',
  // Scopes of their own, not runs:read/runs:write: an approver's token must reach the requests, never start or cancel runs.
  'approvals:read': 'read approval requests: whom they ask, their message and the decisions',
  'approvals:write':
    "decide approval requests as the approver the token's name maps to (a directory user's id or email); with admin, any request but the subject's own",
};

export const SCOPES = Object.keys(SCOPE_EFFECTS) as Scope[];

/**
 * public: no token. loopback: idflow dev's stand-ins for outside services (the sink, Slack): no
 * idflow token, loopback clients only (dev/routes.ts checks the peer). signature: no token, but
 * the route itself refuses (401) a request its event source's secret did not sign (engine/sources.ts),
 * an approval link idflow did not sign, a Slack request without Slack's signature (engine/approvals.ts),
 * or a console sign-in link that is unknown (api/routes/console.ts). authenticated: any valid token
 * or console session, whatever its scopes. session: a console session cookie only (not a bearer token).
 * A list: any one of its scopes. `allOf`: every one of them (a plan needs `plan` and the read side
 * of the operation it plans). Admin implies all.
 */
export type RouteAccess =
  'public' | 'loopback' | 'signature' | 'authenticated' | 'session' | readonly Scope[] | { readonly allOf: readonly Scope[] };

/**
 * How each dev route is reached (ROUTE_ACCESS below takes these): `loopback` takes no
 * token but refuses any client not on 127.0.0.0/8 or ::1 with a 403; a scope means a bearer
 * token with it. Mounted only by `idflow dev` (dev/routes.ts, through buildApiServer's `routes`).
 */
export const DEV_ROUTES = {
  sink: { method: 'POST', url: '/v1/dev/sink/:name', access: 'loopback' },
  slack: { method: 'POST', url: '/v1/dev/slack/api/:method', access: 'loopback' },
  outbox: { method: 'GET', url: '/v1/outbox', access: 'runs:read' },
} as const;

/** The SCIM service's routes (api/routes/scim.ts), all under /scim/v2 and all for the `scim` scope. */
export const SCIM_ROUTES = [
  'GET /scim/v2/ServiceProviderConfig',
  'GET /scim/v2/ResourceTypes',
  'GET /scim/v2/ResourceTypes/:id',
  'GET /scim/v2/Schemas',
  'GET /scim/v2/Schemas/:id',
  'POST /scim/v2/.search',
  ...['Users', 'Groups'].flatMap((type) => [
    `GET /scim/v2/${type}`,
    `POST /scim/v2/${type}`,
    `POST /scim/v2/${type}/.search`,
    `GET /scim/v2/${type}/:id`,
    `PUT /scim/v2/${type}/:id`,
    `PATCH /scim/v2/${type}/:id`,
    `DELETE /scim/v2/${type}/:id`,
  ]),
] as const;

/** Writing any kind of document: the route admits these, then each document needs its own (documentScopes). */
const ANY_DOCUMENT_WRITE: readonly Scope[] = ['definitions:write', 'functions:write', 'directory:write'];

/** Keyed by `METHOD /route/:param` as registered with Fastify; a route missing here fails the server's start. */
export const ROUTE_ACCESS: Record<string, RouteAccess> = {
  'GET /healthz': 'public',
  'GET /openapi.json': 'public',
  'GET /metrics': ['metrics:read'],
  'POST /v1/apply': ANY_DOCUMENT_WRITE,
  'GET /v1/automations': ['definitions:read'],
  'GET /v1/automations/:name': ['definitions:read'],
  'GET /v1/automations/:name/versions': ['definitions:read'],
  'POST /v1/automations/:name/rollback': ['definitions:write'],
  'POST /v1/automations/:name/enable': ['definitions:write'],
  'POST /v1/automations/:name/disable': ['definitions:write'],
  'GET /v1/webhooks': ['definitions:read'],
  'GET /v1/schedules': ['definitions:read'],
  'POST /v1/events': ['events:write'],
  'GET /v1/events': ['events:read'],
  'GET /v1/events/:id': ['events:read'],
  'POST /v1/automations/:name/runs': ['runs:write'],
  'GET /v1/runs': ['runs:read'],
  'GET /v1/runs/:id': ['runs:read'],
  // The console's first page: its approvals and schedules parts only for a token with their scopes.
  'GET /v1/overview': ['runs:read'],
  'GET /v1/runs/:id/wait': ['runs:read'],
  'POST /v1/runs/:id/cancel': ['runs:write'],
  'POST /v1/runs/:id/retry': ['runs:write'],
  'POST /v1/schedules/:name/trigger': ['runs:write'],
  'POST /v1/schedules/:name/pause': ['runs:write'],
  'POST /v1/schedules/:name/unpause': ['runs:write'],
  'POST /v1/schedules/:name/backfill': ['runs:write'],
  'POST /v1/directory/import': ['directory:write'],
  'GET /v1/directory/users': ['directory:read'],
  'GET /v1/directory/users/:user': ['directory:read'],
  // A person's runs and directory changes (audit entries too, for admin).
  'GET /v1/directory/users/:user/timeline': { allOf: ['directory:read', 'runs:read'] },
  'GET /v1/directory/apps': ['directory:read'],
  'GET /v1/directory/grants': ['directory:read'],
  'GET /v1/directory/accounts': ['directory:read'],
  'GET /v1/directory/tasks': ['directory:read'],
  'GET /v1/directory/delegates': ['directory:read'],
  'GET /v1/directory/enrollments': ['directory:read'],
  'GET /v1/directory/campaigns': ['directory:read'],
  // Reading the drift needs directory:read; with apply the route also requires directory:write.
  'POST /v1/directory/apps/:app/reconcile': ['directory:read', 'directory:write'],
  'PUT /v1/directory/apps/:app/secrets/:key': ['directory:write'],
  'GET /v1/functions': ['functions:read'],
  'GET /v1/functions/:name/versions': ['functions:read'],
  'POST /v1/functions/:name/versions': ['functions:write'],
  'POST /v1/functions/:name/rollback': ['functions:write'],
  'POST /v1/functions/:name/runs': ['functions:run'],
  'POST /v1/functions/:name/tests': ['functions:run'],
  'GET /v1/functions/:name/secrets': ['functions:read'],
  'PUT /v1/functions/:name/secrets/:key': ['functions:write'],
  'DELETE /v1/functions/:name/secrets/:key': ['functions:write'],
  'POST /v1/sources/:name': 'signature',
  'GET /v1/sources': ['definitions:read'],
  'GET /v1/sources/:name/deliveries': ['events:read'],
  // And the scopes of what the source's current version causes (sourceEffectScopes).
  'POST /v1/sources/:name/deliveries/:id/replay': ['events:write', 'directory:write'],
  'GET /v1/sources/:name/secrets': ['definitions:read'],
  // And the scopes of what the source causes: whoever holds its secret signs for it.
  'PUT /v1/sources/:name/secrets/:key': ['definitions:write'],
  'DELETE /v1/sources/:name/secrets/:key': ['definitions:write'],
  'POST /v1/plan/events': { allOf: ['plan', 'events:read'] },
  'POST /v1/plan/runs': { allOf: ['plan', 'runs:read'] },
  'POST /v1/plan/imports': { allOf: ['plan', 'directory:read'] },
  // A replay reads the candidate's versions, the recorded events and their runs' inputs and outputs.
  'POST /v1/replay': { allOf: ['plan', 'definitions:read', 'events:read', 'runs:read'] },
  // The guard: reading it is reading runs; a plan of a held run is a plan. Discarding held runs
  // is cancelling runs (runs:write). Releasing overrides a safety limit, so it is the admin's:
  // a token that may start runs (a pipeline's) must not also be able to let a runaway one loose.
  'GET /v1/guard': ['runs:read'],
  'GET /v1/guard/runs/:id/plan': { allOf: ['plan', 'runs:read'] },
  'POST /v1/guard/:name/release': ['admin'],
  'POST /v1/guard/:name/discard': ['runs:write'],
  'GET /v1/audit': ['admin'],
  'GET /v1/approvals': ['approvals:read'],
  'GET /v1/approvals/:id': ['approvals:read'],
  // And the token's name must map to an approver, or the token hold admin (engine/approvals.ts).
  'POST /v1/approvals/:id/decision': ['approvals:write'],
  // An approver's page: the signed link is the credential (engine/approvals.ts refuses any other with 401).
  'GET /approvals/:token': 'signature',
  'POST /approvals/:token': 'signature',
  // Slack's request signature (SLACK_SIGNING_SECRET) is the credential.
  'POST /v1/slack/interactions': 'signature',
  // The web console's sign-in (api/routes/console.ts): with a token in the body, with a one-time link
  // (the link is the credential), and the session itself; a link is for the caller's own token.
  'POST /v1/console/sessions': 'public',
  'GET /v1/console/session': 'session',
  'DELETE /v1/console/session': 'session',
  'POST /v1/console/links': 'authenticated',
  'GET /console/signin/:link': 'signature',
  // SCIM 2.0 service provider (api/routes/scim.ts): a `scim` token reaches these and nothing else.
  ...Object.fromEntries(SCIM_ROUTES.map((route) => [route, ['scim']])),
  // Mounted by idflow dev only (DEV_ROUTES above).
  ...Object.fromEntries(
    Object.values(DEV_ROUTES).map(({ method, url, access }) => [`${method} ${url}`, access === 'loopback' ? access : [access]]),
  ),
};

/** Every scope putting this automation in force needs (apply, rollback, enable), in first-use order. */
export function automationScopes(spec: Pick<AutomationSpec, 'trigger' | 'steps'>): Scope[] {
  const scopes = new Set<Scope>(['definitions:write']);
  // forEachUser reads every directory user into runs whose steps can send them anywhere.
  if (spec.trigger.type === 'schedule' && spec.trigger.forEachUser !== undefined) scopes.add('directory:read');
  // What each step's effect needs beyond definitions:write, as its step type declares (`scopes`).
  for (const step of spec.steps) {
    const type = stepRegistry.get(step.type);
    for (const scope of type?.scopesFor?.(step.with) ?? type?.scopes ?? []) scopes.add(scope);
  }
  return [...scopes];
}

/**
 * What whoever can sign a source's requests causes: events of any type it maps (every automation
 * on them runs, as with events:write) and directory writes (as an HR import). Applying the
 * source, setting its secret and replaying its deliveries need these.
 */
export function sourceEffectScopes(spec: Pick<EventSourceSpec, 'mapping'>): Scope[] {
  return [
    ...(spec.mapping.events === undefined ? [] : ['events:write' as const]),
    ...(spec.mapping.users === undefined ? [] : ['directory:write' as const]),
  ];
}

export type StoredAutomation = Pick<AutomationSpec, 'name' | 'steps'>;

/** The names a step of `type` names in `field` (run_webhook's webhook, run_automation's automation). */
const named = (automation: StoredAutomation, type: string, field: string) =>
  automation.steps.flatMap((step) => (step.type === type ? [String(step.with[field])] : []));

/** Where stored automations' function output can go; changing any of these needs functions:run, as editing the automations would. */
export interface FunctionOutputReach {
  /** Automations that call a function, that one of these starts (the context can carry it), or that start one of these (its outputs come back). */
  automations: Set<string>;
  /** The webhooks those automations post to. */
  webhooks: Set<string>;
}

export function functionOutputReach(stored: StoredAutomation[], connectorWebhooks: readonly string[] = []): FunctionOutputReach {
  // A step whose type needs functions:run puts a function's output in the run (call_function, perform_connector_action).
  const callsFunction = (type: string) => stepRegistry.get(type)?.scopes.includes('functions:run') === true;
  const automations = new Set(
    stored.filter((automation) => automation.steps.some((step) => callsFunction(step.type))).map((automation) => automation.name),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const automation of stored) {
      const chained = named(automation, 'run_automation', 'automation');
      const joined = automations.has(automation.name)
        ? chained.filter((child) => !automations.has(child))
        : chained.some((child) => automations.has(child))
          ? [automation.name]
          : [];
      for (const name of joined) automations.add(name);
      grew ||= joined.length > 0;
    }
  }
  const webhooks = new Set(
    stored.filter((automation) => automations.has(automation.name)).flatMap((automation) => named(automation, 'run_webhook', 'webhook')),
  );
  // A connector action's webhook gets whatever its step's templated input carries, function output included.
  for (const webhook of connectorWebhooks) webhooks.add(webhook);
  return { automations, webhooks };
}

function declaresConnectorActions(spec: DirectoryDocument): boolean {
  return spec.apps.some((app) => Object.keys(app.provisioning?.actions ?? {}).length > 0);
}

/** The webhooks apps name as connector actions (their payload is a run's templated input). */
export function connectorActionWebhooks(apps: readonly App[]): string[] {
  return apps.flatMap((app) =>
    Object.values(app.provisioning?.actions ?? {}).flatMap((target) => ('webhook' in target ? [target.webhook] : [])),
  );
}

/** The scopes applying one document needs, given where stored automations' function output goes. */
export function documentScopes(document: LoadedDocument, reach: FunctionOutputReach): Scope[] {
  switch (document.kind) {
    case 'Automation': {
      const scopes = automationScopes(document.spec);
      return reach.automations.has(document.name) && !scopes.includes('functions:run') ? [...scopes, 'functions:run'] : scopes;
    }
    case 'Webhook':
      return reach.webhooks.has(document.name) ? ['definitions:write', 'functions:run'] : ['definitions:write'];
    case 'Function':
      return ['functions:write'];
    case 'Directory':
      // A connector action lends the app's token to a function, or sends a run's data to a webhook,
      // and its output lands in runs: declaring one is what publishing such an automation needs.
      return declaresConnectorActions(document.spec) ? ['directory:write', 'functions:run'] : ['directory:write'];
    case 'ScimService':
      return ['directory:write'];
    case 'EventSource':
      return ['definitions:write', ...sourceEffectScopes(document.spec)];
  }
}
