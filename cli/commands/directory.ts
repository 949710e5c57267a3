/** idflow directory apply|import|users|apps|grants|accounts|tasks|delegates|enrollments|campaigns. */
import type { Command } from 'commander';
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { parseMapping, type ImportReport } from '../../directory/import.js';
import type { Account, Campaign, Delegate, Enrollment, Grant, Task, User } from '../../directory/types.js';
import { RawBody, connect } from '../client.js';
import { CliError, printJson, type Output } from '../output.js';
import { apply } from './definitions.js';
import { registerProvisioningCommands } from './provisioning.js';

/** Exit code of an import that imported the good rows but reported bad ones. */
export const IMPORT_ROW_ERRORS_EXIT = 2;

/** The CliError for a file the command cannot read. */
const unreadable =
  (path: string) =>
  (error: NodeJS.ErrnoException): never => {
    throw new CliError(`${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  };

/** Sends the feed streamed from disk (it may be far larger than the API's JSON bodies), typed by its extension; closes the file after. */
export async function sendFeed<T>(path: string, send: (body: RawBody) => Promise<T>): Promise<T> {
  const handle = await open(path).catch(unreadable(path));
  try {
    return await send(
      new RawBody(
        /\.json$/i.test(path) ? 'application/json' : 'text/csv',
        Readable.toWeb(handle.createReadStream({ autoClose: false })) as ReadableStream<Uint8Array>,
      ),
    );
  } finally {
    await handle.close();
  }
}

/** The mapping file, checked here (so its errors name the local path) and sent as JSON. */
export async function mappingParameter(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(unreadable(path));
  return JSON.stringify(Object.fromEntries(parseMapping(text, path)));
}

function printImport(output: Output, report: ImportReport): void {
  const verb = report.dryRun ? 'would ' : '';
  output.out(
    `${report.dryRun ? 'dry run: ' : ''}${report.rows} rows from ${report.source}: ${verb}create ${report.created.length}, ${verb}update ${report.updated.length}, ${verb}deactivate ${report.deactivated.length}, ${report.unchanged} unchanged, ${report.errors.length} bad rows`,
  );
  for (const user of report.created) output.out(`  + ${user.id} ${user.email}`);
  for (const user of report.updated) output.out(`  ~ ${user.id}: ${user.changes.join(', ')}`);
  for (const user of report.deactivated) output.out(`  - ${user.id} (${user.reason})`);
  for (const error of report.errors) output.err(`line ${error.line}${error.id ? ` (${error.id})` : ''}: ${error.message}`);
}

/** A `list [--user X] [--json]` command over GET /v1/directory/<what>. */
function listCommand<T>(
  parent: Command,
  output: Output,
  what: string,
  line: (item: T) => string,
  extra?: (command: Command) => Command,
): void {
  let command = parent
    .command(what)
    .description(`${what} in the directory`)
    .command('list')
    .option('--user <user>', 'a user id or email')
    .option('--json', 'machine-readable output');
  if (extra) command = extra(command);
  command.action(async (options: { user?: string; json?: boolean; state?: string }) => {
    const query = new URLSearchParams();
    if (options.user) query.set('user', options.user);
    if (options.state) query.set('state', options.state);
    const body = await (await connect()).request<Record<string, T[]>>('GET', `/v1/directory/${what}${query.size > 0 ? `?${query}` : ''}`);
    const items = body[what] ?? [];
    if (options.json) return printJson(output, items);
    if (items.length === 0) return output.out(`no ${what}`);
    for (const item of items) output.out(line(item));
  });
}

export function registerDirectoryCommands(program: Command, output: Output): void {
  const directory = program
    .command('directory')
    .description('The identity directory: people, apps, entitlements, grants, accounts, tasks, ...');

  directory
    .command('apply')
    .description('Apply kind: Directory documents (adds and updates; emits the events of the changes)')
    .argument('<paths...>')
    .option('--dry-run', 'say what would change, change nothing')
    .action((paths: string[], options: { dryRun?: boolean }) => apply(output, paths, Boolean(options.dryRun), false));

  directory
    .command('import')
    .description(
      `Import an HR feed (CSV or JSON): joiners, movers and leavers become user events. Exits ${IMPORT_ROW_ERRORS_EXIT} when rows were rejected (the rest is imported).`,
    )
    .argument('<file>')
    .option('--source <name>', 'names the feed in reports and audit', 'hr')
    .option('--map <mapping>', 'YAML file renaming feed columns: { columns: { "Work Email": email } }')
    .option('--full', 'the feed lists everyone: deactivate enabled people missing from it')
    .option('--dry-run', 'print the changes, make none')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: { source: string; map?: string; full?: boolean; dryRun?: boolean; json?: boolean }) => {
      const query = new URLSearchParams({
        source: options.source,
        file: basename(file),
        full: String(Boolean(options.full)),
        dryRun: String(Boolean(options.dryRun)),
      });
      if (options.map) query.set('mapping', await mappingParameter(options.map));
      const client = await connect();
      const report = await sendFeed(file, (body) => client.request<ImportReport>('POST', `/v1/directory/import?${query}`, body));
      if (options.json) printJson(output, report);
      else printImport(output, report);
      if (report.errors.length > 0) {
        throw new CliError(
          `${report.errors.length} row${report.errors.length === 1 ? '' : 's'} rejected (listed above); the other rows were ${report.dryRun ? 'checked' : 'imported'}`,
          IMPORT_ROW_ERRORS_EXIT,
        );
      }
    });

  const users = directory.command('users').description('People in the directory');
  users
    .command('list')
    .option('--status <status>', 'ENABLED, DISABLED or DELETED')
    .option('--department <department>')
    .option('--json', 'machine-readable output')
    .action(async (options: { status?: string; department?: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: '200' });
      if (options.status) query.set('status', options.status.toUpperCase());
      if (options.department) query.set('department', options.department);
      const client = await connect();
      // Every page: the API answers 200 people at a time.
      const list: User[] = [];
      for (let cursor: string | undefined; ;) {
        if (cursor !== undefined) query.set('cursor', cursor);
        const page = await client.request<{ users: User[]; nextCursor?: string }>('GET', `/v1/directory/users?${query}`);
        list.push(...page.users);
        cursor = page.nextCursor;
        if (cursor === undefined) break;
      }
      if (options.json) return printJson(output, list);
      if (list.length === 0) return output.out('no users: import an HR feed with `idflow directory import FILE`');
      for (const user of list)
        output.out(
          `${user.status === 'ENABLED' ? '●' : '○'} ${user.id.padEnd(12)} ${user.email.padEnd(32)} ${(user.department ?? '').padEnd(16)} ${user.title ?? ''}`,
        );
    });
  users
    .command('get')
    .argument('<user>', 'id or email')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, options: { json?: boolean }) => {
      const user = await (await connect()).request<User>('GET', `/v1/directory/users/${encodeURIComponent(ref)}`);
      if (options.json) return printJson(output, user);
      for (const [key, value] of Object.entries(user))
        output.out(`${key.padEnd(15)} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
    });

  directory
    .command('apps')
    .description('Apps and their entitlements')
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const body = await (
        await connect()
      ).request<{
        apps: { id: string; slug: string; displayName: string }[];
        entitlements: { id: string; app: string; slug: string; displayName: string }[];
      }>('GET', '/v1/directory/apps');
      if (options.json) return printJson(output, body);
      for (const app of body.apps) {
        output.out(`${app.slug}  ${app.displayName}`);
        for (const e of body.entitlements.filter((entitlement) => entitlement.app === app.slug))
          output.out(`    ${app.slug}:${e.slug}  ${e.displayName}`);
      }
    });

  listCommand<Grant>(
    directory,
    output,
    'grants',
    (g) => `${g.userId.padEnd(12)} ${g.entitlement.padEnd(32)} ${g.source}${g.expiresAt ? `  expires ${g.expiresAt}` : ''}`,
  );
  listCommand<Account>(
    directory,
    output,
    'accounts',
    (a) => `${a.userId.padEnd(12)} ${a.app.padEnd(16)} ${a.username.padEnd(20)} ${a.status}`,
  );
  listCommand<Task>(
    directory,
    output,
    'tasks',
    (t) => `${t.id.padEnd(16)} ${t.type.padEnd(15)} ${t.state.padEnd(10)} assignee ${t.assigneeId}  ${t.title}`,
    (c) => c.option('--state <state>', 'open, completed or cancelled'),
  );
  listCommand<Delegate>(directory, output, 'delegates', (d) => `${d.userId} → ${d.delegateId}`);
  listCommand<Enrollment>(directory, output, 'enrollments', (e) => `${e.userId.padEnd(12)} ${e.profileId}`);
  listCommand<Campaign>(
    directory,
    output,
    'campaigns',
    (c) => `${c.id}  ${c.templateId}  user ${c.userId}  reviewer ${c.reviewerId ?? '-'}  ${c.state}  ${c.items.length} items`,
  );
  registerProvisioningCommands(directory, output);
}
