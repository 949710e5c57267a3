/**
 * Schema migrations, kept in code (no files read at run time) and applied on open. The Migrator
 * runs them in name order: add new ones with the next number, never edit a released one. One
 * set serves both dialects: Kysely's schema builder spells the portable types for each, and
 * identityType/identity below are the only per-dialect column.
 * They run inside one transaction: on SQLite a BEGIN IMMEDIATE one (store/sqlite.ts), so a
 * migration cannot switch `PRAGMA foreign_keys` (a no-op inside a transaction); on PostgreSQL
 * under Kysely's advisory lock, so processes starting together migrate once.
 */
import {
  Migrator,
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationInfo,
  type MigrationProvider,
} from 'kysely';
import { changeSubject } from '../directory/changes.js';
import type { User } from '../directory/types.js';
import { userSearchText } from '../directory/users.js';
import { subjectKey } from '../triggers/events.js';
import { isPostgres } from './dialect.js';

/**
 * The one column whose spelling differs: an increasing id (audit order, outbox delivery order).
 * SQLite's INTEGER PRIMARY KEY AUTOINCREMENT never reuses an id; PostgreSQL's identity column
 * is its standard counterpart (bigint, read back as a number: see store/postgres.ts).
 */
function identityType(db: Kysely<unknown>): 'integer' | 'bigint' {
  return isPostgres(db) ? 'bigint' : 'integer';
}

function identity(db: Kysely<unknown>, col: ColumnDefinitionBuilder): ColumnDefinitionBuilder {
  return isPostgres(db) ? col.primaryKey().generatedAlwaysAsIdentity() : col.primaryKey().autoIncrement();
}

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('definition_versions')
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .addColumn('spec', 'text', (col) => col.notNull())
        .addColumn('source', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('created_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('definition_versions_pk', ['kind', 'name', 'version'])
        .execute();

      await db.schema
        .createTable('definition_heads')
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('enabled', 'integer', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('definition_heads_pk', ['kind', 'name'])
        .addForeignKeyConstraint('definition_heads_version_fk', ['kind', 'name', 'version'], 'definition_versions', [
          'kind',
          'name',
          'version',
        ])
        .execute();

      await db.schema
        .createTable('definition_generation')
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .addColumn('value', 'integer', (col) => col.notNull())
        .execute();
      await sql`insert into definition_generation (id, value) values (1, 0)`.execute(db);

      await db.schema
        .createTable('events')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('occurred_at', 'text', (col) => col.notNull())
        .addColumn('received_at', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addColumn('matches', 'text', (col) => col.notNull())
        .addColumn('processed_at', 'text')
        .execute();
      await db.schema.createIndex('events_received_at').on('events').columns(['received_at desc', 'id desc']).execute();
      await db.schema.createIndex('events_type_received_at').on('events').columns(['type', 'received_at desc', 'id desc']).execute();

      await db.schema
        .createTable('runs')
        .addColumn('run_id', 'text', (col) => col.primaryKey())
        .addColumn('automation', 'text', (col) => col.notNull())
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('trigger', 'text', (col) => col.notNull())
        .addColumn('event_id', 'text')
        .addColumn('parent_run_id', 'text')
        .addColumn('started_at', 'text', (col) => col.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('error', 'text')
        .execute();
      // One index per list filter, each ending in started_at so the newest-first order needs no sort.
      await db.schema.createIndex('runs_started_at').on('runs').columns(['started_at desc', 'run_id desc']).execute();
      await db.schema
        .createIndex('runs_automation_started_at')
        .on('runs')
        .columns(['automation', 'started_at desc', 'run_id desc'])
        .execute();
      await db.schema.createIndex('runs_status_started_at').on('runs').columns(['status', 'started_at desc', 'run_id desc']).execute();
      await db.schema.createIndex('runs_event_id').on('runs').columns(['event_id', 'started_at desc', 'run_id desc']).execute();
      await db.schema.createIndex('runs_parent_run_id').on('runs').column('parent_run_id').execute();

      await db.schema
        .createTable('run_steps')
        .addColumn('run_id', 'text', (col) => col.notNull().references('runs.run_id').onDelete('cascade'))
        .addColumn('step_index', 'integer', (col) => col.notNull())
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('attempts', 'integer', (col) => col.notNull())
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('input', 'text')
        .addColumn('output', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('run_steps_pk', ['run_id', 'step_index'])
        .addUniqueConstraint('run_steps_run_id_name', ['run_id', 'name'])
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', identityType(db), (col) => identity(db, col))
        .addColumn('at', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('action', 'text', (col) => col.notNull())
        .addColumn('target', 'text', (col) => col.notNull())
        .addColumn('details', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target', 'id desc']).execute();

      await db.schema
        .createTable('tokens')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('token_hash', 'text', (col) => col.notNull().unique())
        .addColumn('scopes', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
    },
  },
  '0002_step_effects': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('step_effects')
        .addColumn('key', 'text', (col) => col.primaryKey())
        .addColumn('result', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
    },
  },
  '0003_directory': {
    // Each directory table keeps the whole record as JSON in `data`, plus the columns that are
    // looked up, joined or kept unique: one mapping for every kind, and indexes where queries go.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('dir_users')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('email_key', 'text', (col) => col.notNull().unique())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('department', 'text')
        .addColumn('manager_id', 'text')
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('dir_users_manager_id').on('dir_users').column('manager_id').execute();
      await db.schema
        .createTable('dir_apps')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('slug', 'text', (col) => col.notNull().unique())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('dir_entitlements')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('app_id', 'text', (col) => col.notNull())
        .addColumn('slug', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addUniqueConstraint('dir_entitlements_app_slug', ['app_id', 'slug'])
        .execute();
      await db.schema
        .createTable('dir_grants')
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('entitlement_id', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('dir_grants_pk', ['user_id', 'entitlement_id'])
        .execute();
      await db.schema.createIndex('dir_grants_entitlement_id').on('dir_grants').column('entitlement_id').execute();
      await db.schema
        .createTable('dir_accounts')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('app_id', 'text', (col) => col.notNull())
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addUniqueConstraint('dir_accounts_app_user', ['app_id', 'user_id'])
        .execute();
      await db.schema.createIndex('dir_accounts_user_id').on('dir_accounts').column('user_id').execute();
      await db.schema
        .createTable('dir_access_profiles')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('dir_enrollments')
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('profile_id', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('dir_enrollments_pk', ['user_id', 'profile_id'])
        .execute();
      await db.schema
        .createTable('dir_delegates')
        .addColumn('user_id', 'text', (col) => col.primaryKey())
        .addColumn('delegate_id', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('dir_delegates_delegate_id').on('dir_delegates').column('delegate_id').execute();
      await db.schema
        .createTable('dir_tasks')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('assignee_id', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('dir_tasks_assignee_state').on('dir_tasks').columns(['assignee_id', 'state']).execute();
      await db.schema
        .createTable('dir_campaign_templates')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('dir_campaigns')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('dir_campaigns_user_id').on('dir_campaigns').column('user_id').execute();
      await db.schema
        .createTable('directory_outbox')
        // Delivery order is seq order.
        .addColumn('seq', identityType(db), (col) => identity(db, col))
        .addColumn('event_id', 'text', (col) => col.notNull().unique())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('data', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema.createIndex('directory_outbox_pending').on('directory_outbox').columns(['delivered_at', 'seq']).execute();
    },
  },
  '0004_function_secrets': {
    // Only ciphertext: the key (IDFLOW_MASTER_KEY or a key file) never reaches the database.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('function_secrets')
        .addColumn('function_name', 'text', (col) => col.notNull())
        .addColumn('key', 'text', (col) => col.notNull())
        .addColumn('sealed', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('updated_by', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('function_secrets_pk', ['function_name', 'key'])
        .execute();
    },
  },
  '0005_token_lifecycle': {
    // Tokens may expire and be revoked (kept, so the name and its audit entries stay explained).
    async up(db: Kysely<unknown>): Promise<void> {
      for (const column of ['expires_at', 'revoked_at', 'last_used_at'])
        await db.schema.alterTable('tokens').addColumn(column, 'text').execute();
    },
  },
  '0006_leases': {
    // Named leases: one API process at a time delivers the directory outbox (directory/outbox.ts).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('holder', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .execute();
    },
  },
  '0007_source_deliveries': {
    // Requests to event sources, with the body of the signed ones kept for replay (store/source-deliveries.ts).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('source_deliveries')
        .addColumn('seq', identityType(db), (col) => identity(db, col))
        .addColumn('source', 'text', (col) => col.notNull())
        .addColumn('id', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('reason', 'text')
        .addColumn('received_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('attempts', 'integer', (col) => col.notNull())
        .addColumn('remote_address', 'text', (col) => col.notNull())
        .addColumn('version', 'integer')
        .addColumn('body_bytes', 'integer', (col) => col.notNull())
        .addColumn('body_sha256', 'text', (col) => col.notNull())
        .addColumn('body', 'text')
        .addColumn('headers', 'text')
        .addColumn('result', 'text')
        .addUniqueConstraint('source_deliveries_id', ['source', 'id'])
        .execute();
      await db.schema.createIndex('source_deliveries_by_source').on('source_deliveries').columns(['source', 'seq']).execute();
    },
  },
  '0008_guard': {
    // The blast-radius guard (store/guard.ts): admitted slots per hour window, held runs, tripped automations.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('guard_slots')
        .addColumn('automation', 'text', (col) => col.notNull())
        .addColumn('counter', 'text', (col) => col.notNull())
        .addColumn('window_start', 'text', (col) => col.notNull())
        .addColumn('slot', 'integer', (col) => col.notNull())
        .addColumn('subject', 'text', (col) => col.notNull())
        .addColumn('admitted_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('guard_slots_pk', ['automation', 'counter', 'window_start', 'slot'])
        .addUniqueConstraint('guard_slots_subject', ['automation', 'counter', 'window_start', 'subject'])
        .execute();
      await db.schema
        .createTable('guard_holds')
        .addColumn('run_id', 'text', (col) => col.primaryKey())
        .addColumn('automation', 'text', (col) => col.notNull())
        .addColumn('reason', 'text', (col) => col.notNull())
        .addColumn('held_at', 'text', (col) => col.notNull())
        .addColumn('decision', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decided_by', 'text')
        .execute();
      await db.schema.createIndex('guard_holds_by_automation').on('guard_holds').columns(['automation', 'decision']).execute();
      await db.schema
        .createTable('guard_trips')
        .addColumn('automation', 'text', (col) => col.primaryKey())
        .addColumn('reason', 'text', (col) => col.notNull())
        .addColumn('tripped_at', 'text', (col) => col.notNull())
        .addColumn('notified_at', 'text')
        .execute();
    },
  },
  '0009_approvals': {
    // Approval requests of request_approval steps and one row per approver's decision (store/approvals.ts).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('run_id', 'text', (col) => col.notNull())
        .addColumn('step_name', 'text', (col) => col.notNull())
        .addColumn('automation', 'text', (col) => col.notNull())
        .addColumn('subject', 'text')
        .addColumn('approvers', 'text', (col) => col.notNull())
        .addColumn('quorum', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('message', 'text', (col) => col.notNull())
        .addColumn('round', 'integer', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .addColumn('decided_at', 'text')
        .execute();
      await db.schema.createIndex('approvals_by_state').on('approvals').columns(['state', 'created_at']).execute();
      await db.schema
        .createTable('approval_decisions')
        .addColumn('approval_id', 'text', (col) => col.notNull().references('approvals.id'))
        .addColumn('approver', 'text', (col) => col.notNull())
        .addColumn('decision', 'text', (col) => col.notNull())
        .addColumn('comment', 'text')
        .addColumn('via', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('approval_decisions_pk', ['approval_id', 'approver'])
        .execute();
    },
  },
  '0010_console_sessions': {
    // The web console's sign-ins (store/console-sessions.ts): sessions and one-time sign-in links, each
    // kept by its id's hash and the hash of the API token it stands for (no foreign key: a revoked
    // token's name can take a new token, whose new hash must not inherit the old token's sessions).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('console_sessions')
        .addColumn('id_hash', 'text', (col) => col.primaryKey())
        .addColumn('token_hash', 'text', (col) => col.notNull())
        .addColumn('csrf_token', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('console_sessions_by_expiry').on('console_sessions').column('expires_at').execute();
      await db.schema
        .createTable('console_links')
        .addColumn('id_hash', 'text', (col) => col.primaryKey())
        .addColumn('token_hash', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('console_links_by_expiry').on('console_links').column('expires_at').execute();
    },
  },
  '0011_console_queries': {
    // What the console asks: runs and directory changes about a person (with the run step that
    // made a change), a directory search, and the audit log by actor or action.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('subject', 'text').execute();
      await backfill(db, { table: 'runs', key: 'run_id', first: '', source: 'trigger', column: 'subject', derive: subjectKey });
      await db.schema.createIndex('runs_subject_started_at').on('runs').columns(['subject', 'started_at desc', 'run_id desc']).execute();

      for (const column of ['subject', 'run_id', 'step_name'])
        await db.schema.alterTable('directory_outbox').addColumn(column, 'text').execute();
      await backfill(db, { table: 'directory_outbox', key: 'seq', first: 0, source: 'data', column: 'subject', derive: changeSubject });
      await db.schema
        .createIndex('directory_outbox_subject')
        .on('directory_outbox')
        .columns(['subject', 'created_at desc', 'seq desc'])
        .execute();

      await db.schema
        .alterTable('dir_users')
        .addColumn('search_key', 'text', (col) => col.notNull().defaultTo(''))
        .execute();
      await backfill(db, {
        table: 'dir_users',
        key: 'id',
        first: '',
        source: 'data',
        column: 'search_key',
        derive: (user: User) => userSearchText(user),
      });

      await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'id desc']).execute();
      await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'id desc']).execute();
    },
  },
};

/** Rows read and updated per statement by a backfill. */
const BACKFILL_BATCH = 500;

/**
 * Fills a derived column of existing rows with `derive` of their JSON `source` column (the same
 * function new rows get it from), a batch per statement in key order. A row whose JSON does not
 * parse keeps the column empty rather than stopping the upgrade.
 */
async function backfill(
  db: Kysely<unknown>,
  options: {
    table: string;
    key: string;
    first: string | number;
    source: string;
    column: string;
    derive: (json: never) => string | undefined;
  },
): Promise<void> {
  const { table, key, source, column } = options;
  for (let after = options.first; ;) {
    const rows = await sql<{ key: string | number; source: string }>`
      select ${sql.ref(key)} as key, ${sql.ref(source)} as source from ${sql.table(table)}
      where ${sql.ref(key)} > ${after} order by ${sql.ref(key)} limit ${BACKFILL_BATCH}`.execute(db);
    if (rows.rows.length === 0) return;
    const values = rows.rows.flatMap((row) => {
      let value: string | undefined;
      try {
        value = options.derive(JSON.parse(row.source) as never);
      } catch {
        value = undefined;
      }
      return value === undefined ? [] : [{ key: row.key, value }];
    });
    if (values.length > 0)
      await sql`update ${sql.table(table)} set ${sql.ref(column)} = case ${sql.ref(key)} ${sql.join(
        values.map(({ key: rowKey, value }) => sql`when ${rowKey} then ${value}`),
        sql` `,
      )} end where ${sql.ref(key)} in (${sql.join(values.map((row) => row.key))})`.execute(db);
    after = (rows.rows.at(-1) as { key: string | number }).key;
  }
}

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export interface MigrationState {
  /** Every migration this idflow knows, in order, with when it was applied (undefined: pending). */
  known: { name: string; appliedAt?: string }[];
  /** Migrations the database has that this idflow does not know: a newer idflow migrated it. */
  unknown: string[];
}

/** Which migrations the database has; reads only (a new database has none). */
export async function migrationState<DB>(db: Kysely<DB>): Promise<MigrationState> {
  const infos: readonly MigrationInfo[] = await new Migrator({ db, provider }).getMigrations();
  const known = infos.map((info) => ({ name: info.name, ...(info.executedAt && { appliedAt: info.executedAt.toISOString() }) }));
  return { known, unknown: await unknownMigrations(db) };
}

/** Names in Kysely's migration table that are not in this build's set. */
async function unknownMigrations<DB>(db: Kysely<DB>): Promise<string[]> {
  let applied: string[];
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = rows.rows.map((row) => row.name);
  } catch (error) {
    // No migration table yet: a new database. Any other failure (cannot connect) is the caller's to report.
    if (/kysely_migration/.test((error as Error).message)) return [];
    throw error;
  }
  return applied.filter((name) => !(name in migrations)).sort();
}

/** Brings the schema up to date; `where` names the database in the error. */
export async function migrateToLatest<DB>(db: Kysely<DB>, where: string): Promise<void> {
  let unknown: string[];
  try {
    unknown = await unknownMigrations(db);
  } catch (error) {
    throw new Error(`store: cannot read ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (unknown.length > 0)
    throw new Error(
      `store: ${where} was migrated by a newer idflow (it has ${unknown.join(', ')}, which this version does not know); ` +
        `run that idflow version or a later one`,
    );
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`store: migrating ${where} failed${failed ? ` at ${failed}` : ''}: ${message}`, { cause: error });
  }
}
