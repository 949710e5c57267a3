/**
 * `kind: Directory` documents: apps with their entitlements, people, grants, accounts, access
 * profiles, enrollments, delegates, tasks and campaign templates, declared in YAML or JSON and
 * applied with `idflow directory apply` (or alongside automations with `idflow apply`).
 * Applying adds and updates; it never deletes what a document does not mention. Everything in a
 * document set applies in one transaction, with the lifecycle events of the changes, or nothing
 * does when any reference is wrong.
 */
import { z } from 'zod';
import { DurationSchema } from '../core/duration.js';
import { DefinitionNameSchema } from '../core/names.js';
import { SecretRefSchema } from '../core/secret-ref.js';
import { diffUser, directoryEvent, type DirectoryWriter } from './service.js';
import { ACCOUNT_STATUSES, DirectoryError, TASK_STATES, TASK_TYPES, type Account, type App, type Entitlement } from './types.js';
import { UserInputSchema, toUserFields } from './users.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lowercase letters, digits, ".", "_" and "-"');
const ref = z.string().min(1);

const ProvisioningSchema = z
  .object({
    scim: z
      .object({
        baseUrl: z.url({ protocol: /^https?$/, error: 'expected the http:// or https:// base URL of the SCIM service (…/scim/v2)' }),
        token: SecretRefSchema.describe('The bearer token: { env: NAME } of the worker, or { secret: NAME } sealed for this app.'),
        timeout: DurationSchema.optional().describe('Timeout of one request to the app (default 30s); a timed-out step is retried.'),
      })
      .strict()
      .optional()
      .describe('Provision the app over SCIM 2.0.'),
    webhook: DefinitionNameSchema.optional().describe('Send each operation to this webhook (kind: Webhook).'),
    function: DefinitionNameSchema.optional().describe('Send each operation to this function (kind: Function).'),
    groups: z
      .record(slug, z.union([z.string().min(1), z.object({ id: z.string().min(1) }).strict()]))
      .default({})
      .describe('Entitlement slug -> its SCIM group: a displayName, or { id }. Default: the slug as displayName.'),
    actions: z
      .record(slug, z.union([z.object({ function: DefinitionNameSchema }).strict(), z.object({ webhook: DefinitionNameSchema }).strict()]))
      .default({})
      .describe('Connector actions (perform_connector_action): action name -> { function } or { webhook }.'),
  })
  .strict()
  .refine((p) => [p.scim, p.webhook, p.function].filter((v) => v !== undefined).length <= 1, {
    message: 'give at most one of scim, webhook or function',
  });

export const DirectoryDocumentSchema = z
  .object({
    kind: z.literal('Directory'),
    description: z.string().optional(),
    apps: z
      .array(
        z
          .object({
            id: z.string().min(1).optional().describe('Defaults to the slug.'),
            slug,
            displayName: z.string().optional(),
            provisioning: ProvisioningSchema.optional(),
            entitlements: z
              .array(
                z
                  .object({
                    id: z.string().min(1).optional().describe('Defaults to "app:slug".'),
                    slug,
                    displayName: z.string().optional(),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict(),
      )
      .default([]),
    users: z.array(UserInputSchema).default([]),
    grants: z.array(z.object({ user: ref, entitlement: ref, expiresAt: z.iso.datetime({ offset: true }).optional() }).strict()).default([]),
    accounts: z
      .array(
        z
          .object({
            app: ref,
            user: ref,
            username: z.string().min(1).optional(),
            email: z.string().optional(),
            status: z.enum(ACCOUNT_STATUSES).default('APP_USER_STATUS_ENABLED'),
          })
          .strict(),
      )
      .default([]),
    accessProfiles: z
      .array(z.object({ id: slug, displayName: z.string().optional(), entitlements: z.array(ref).default([]) }).strict())
      .default([]),
    enrollments: z.array(z.object({ user: ref, profile: ref }).strict()).default([]),
    delegates: z.array(z.object({ user: ref, delegate: ref }).strict()).default([]),
    tasks: z
      .array(
        z
          .object({
            id: z.string().min(1),
            type: z.enum(TASK_TYPES),
            assignee: ref,
            subject: ref.optional(),
            title: z.string().min(1),
            state: z.enum(TASK_STATES).default('open'),
          })
          .strict(),
      )
      .default([]),
    campaignTemplates: z
      .array(
        z
          .object({
            id: slug,
            displayName: z.string().optional(),
            reviewer: z.union([z.literal('manager'), z.object({ user: ref }).strict()]).default('manager'),
            durationDays: z.number().int().min(1).max(365).default(14),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type DirectoryDocument = z.output<typeof DirectoryDocumentSchema>;

/** A problem at a path of a document (the loader turns it into file:line:column). */
export interface DocumentIssue {
  path: (string | number)[];
  message: string;
}

/** Names a document set declares, so automations applied with it may refer to them. */
export function declaredNames(documents: DirectoryDocument[]): {
  entitlements: string[];
  apps: string[];
  /** App id and slug → its connector actions (the document's replace what the directory held). */
  appActions: Map<string, string[]>;
  accessProfiles: string[];
  campaignTemplates: string[];
} {
  const names = {
    entitlements: [] as string[],
    apps: [] as string[],
    appActions: new Map<string, string[]>(),
    accessProfiles: [] as string[],
    campaignTemplates: [] as string[],
  };
  for (const document of documents) {
    for (const app of document.apps) {
      names.apps.push(app.slug, app.id ?? app.slug);
      const actions = Object.keys(app.provisioning?.actions ?? {});
      for (const ref of [app.slug, app.id ?? app.slug]) names.appActions.set(ref, actions);
      for (const entitlement of app.entitlements)
        names.entitlements.push(`${app.slug}:${entitlement.slug}`, entitlement.id ?? `${app.slug}:${entitlement.slug}`);
    }
    names.accessProfiles.push(...document.accessProfiles.map((profile) => profile.id));
    names.campaignTemplates.push(...document.campaignTemplates.map((template) => template.id));
  }
  return names;
}

export interface DirectoryApplySummary {
  apps: number;
  entitlements: number;
  users: { created: number; updated: number; unchanged: number };
  grants: { created: number; existing: number };
  accounts: number;
  accessProfiles: number;
  enrollments: number;
  delegates: number;
  tasks: number;
  campaignTemplates: number;
}

/**
 * Applies one document inside the writer's transaction. Returns the issues (each with its path);
 * the caller rolls the transaction back when there are any.
 */
export async function applyDirectoryDocument(
  tx: DirectoryWriter,
  document: DirectoryDocument,
  summary: DirectoryApplySummary,
  source: string,
): Promise<DocumentIssue[]> {
  const issues: DocumentIssue[] = [];
  const attempt = async (path: (string | number)[], action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof DirectoryError)) throw error;
      issues.push({ path, message: error.message });
    }
  };
  const now = new Date().toISOString();

  for (const [i, input] of document.apps.entries()) {
    const app: App = {
      id: input.id ?? input.slug,
      slug: input.slug,
      displayName: input.displayName ?? input.slug,
      ...(input.provisioning && { provisioning: input.provisioning }),
    };
    for (const entitlement of Object.keys(app.provisioning?.groups ?? {}))
      if (!input.entitlements.some((e) => e.slug === entitlement))
        issues.push({
          path: ['apps', i, 'provisioning', 'groups', entitlement],
          message: `"${entitlement}" is not an entitlement of app "${app.slug}" (list it under entitlements)`,
        });
    await tx.ops.putApp(app);
    summary.apps++;
    for (const entry of input.entitlements) {
      const entitlement: Entitlement = {
        id: entry.id ?? `${app.slug}:${entry.slug}`,
        appId: app.id,
        app: app.slug,
        slug: entry.slug,
        displayName: entry.displayName ?? entry.slug,
      };
      await attempt(['apps', i, 'entitlements'], () => tx.ops.putEntitlement(entitlement));
      summary.entitlements++;
    }
  }

  // People before anything that refers to them; managers may be anyone in the document.
  const managers = new Map((await tx.ops.listUsers()).map((user) => [user.email.toLowerCase(), user.id]));
  for (const user of document.users) managers.set(user.email.toLowerCase(), user.id);
  for (const [i, input] of document.users.entries()) {
    await attempt(['users', i], async () => {
      const current = await tx.ops.getUser(input.id);
      const byEmail = await tx.ops.getUserByEmail(input.email);
      if (byEmail && byEmail.id !== input.id)
        throw new DirectoryError('CONFLICT', `email "${input.email}" belongs to another person ("${byEmail.id}")`);
      const fields = toUserFields(input, current, (email) => managers.get(email));
      const change = diffUser(current, fields, now);
      if (!change) summary.users.unchanged++;
      else {
        summary.users[change.kind === 'created' ? 'created' : 'updated']++;
        await tx.saveUser(change);
      }
    });
  }

  for (const [i, grant] of document.grants.entries()) {
    await attempt(['grants', i], async () => {
      const result = await tx.grantEntitlements(
        { user: grant.user, entitlements: [grant.entitlement], expiresAt: grant.expiresAt },
        { source },
      );
      summary.grants.created += result.granted.length;
      summary.grants.existing += result.alreadyHad.length;
    });
  }

  for (const [i, input] of document.accounts.entries()) {
    await attempt(['accounts', i], async () => {
      const app = await tx.app(input.app);
      const user = await tx.user(input.user);
      const before = await tx.ops.findAccount(app.id, user.id);
      const account: Account = {
        id: before?.id ?? `${app.slug}:${user.id}`,
        appId: app.id,
        app: app.slug,
        userId: user.id,
        username: input.username ?? before?.username ?? user.username ?? user.email.split('@')[0] ?? user.id,
        ...((input.email ?? before?.email ?? user.email) !== undefined && { email: input.email ?? before?.email ?? user.email }),
        status: input.status,
        ...(before?.appUserId !== undefined && { appUserId: before.appUserId }),
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      };
      if (before && before.username === account.username && before.email === account.email && before.status === account.status) return;
      await tx.ops.putAccount(account);
      await tx.emit(directoryEvent(before ? 'account.updated' : 'account.created', { oldAccount: before, newAccount: account, user }));
      summary.accounts++;
    });
  }

  for (const [i, input] of document.accessProfiles.entries()) {
    await attempt(['accessProfiles', i, 'entitlements'], async () => {
      const entitlements = await Promise.all(input.entitlements.map((entitlement) => tx.entitlement(entitlement)));
      await tx.ops.putAccessProfile({
        id: input.id,
        displayName: input.displayName ?? input.id,
        entitlements: entitlements.map((e) => e.id),
      });
      summary.accessProfiles++;
    });
  }
  for (const [i, input] of document.enrollments.entries()) {
    await attempt(['enrollments', i], async () => {
      const user = await tx.user(input.user);
      if (!(await tx.ops.getAccessProfile(input.profile)))
        throw new DirectoryError('NOT_FOUND', `access profile "${input.profile}" is not in the directory`);
      await tx.ops.putEnrollment({ userId: user.id, profileId: input.profile, enrolledAt: now });
      summary.enrollments++;
    });
  }
  for (const [i, input] of document.delegates.entries()) {
    await attempt(['delegates', i], async () => {
      await tx.modifyDelegate({ user: input.user, delegate: input.delegate });
      summary.delegates++;
    });
  }
  for (const [i, input] of document.tasks.entries()) {
    await attempt(['tasks', i], async () => {
      const assignee = await tx.user(input.assignee, 'assignee');
      const subject = input.subject === undefined ? undefined : await tx.user(input.subject, 'subject');
      const before = await tx.ops.getTask(input.id);
      await tx.ops.putTask({
        id: input.id,
        type: input.type,
        assigneeId: assignee.id,
        ...(subject && { subjectId: subject.id }),
        title: input.title,
        state: input.state,
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      });
      summary.tasks++;
    });
  }
  for (const [i, input] of document.campaignTemplates.entries()) {
    await attempt(['campaignTemplates', i], async () => {
      if (input.reviewer !== 'manager') await tx.user(input.reviewer.user, 'reviewer');
      await tx.ops.putCampaignTemplate({
        id: input.id,
        displayName: input.displayName ?? input.id,
        reviewer: input.reviewer,
        durationDays: input.durationDays,
      });
      summary.campaignTemplates++;
    });
  }
  return issues;
}

export function emptySummary(): DirectoryApplySummary {
  return {
    apps: 0,
    entitlements: 0,
    users: { created: 0, updated: 0, unchanged: 0 },
    grants: { created: 0, existing: 0 },
    accounts: 0,
    accessProfiles: 0,
    enrollments: 0,
    delegates: 0,
    tasks: 0,
    campaignTemplates: 0,
  };
}
