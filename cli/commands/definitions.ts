/** validate, apply, automations ..., schema. */
import type { Command } from 'commander';
import { formatDefinitionError, loadDefinitions } from '../../definitions/load.js';
import { writeDefinitionSchemas } from '../../definitions/write-schemas.js';
import type { ApplyResult } from '../../engine/types.js';
import type { DefinitionVersion } from '../../store/types.js';
import { positiveInt } from '../args.js';
import { ApiClient, connect, findApi } from '../client.js';
import { CliError, printJson, type Output } from '../output.js';
import { definitionFiles, formatReplay, requestReplay } from './replay.js';

/** Ids listed per list by `apply --plan`. */
const PLAN_LISTED = 10;

function report(output: Output, result: ApplyResult, dryRun: boolean): void {
  if (!result.ok) {
    for (const error of result.errors) output.err(formatDefinitionError(error));
    throw new CliError(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'}; nothing was applied`);
  }
  if (result.directory) {
    const d = result.directory;
    const counts = `${d.users.created} users created, ${d.users.updated} updated, ${d.grants.created} grants created, ${d.apps} apps, ${d.entitlements} entitlements, ${d.accounts} accounts changed, ${d.accessProfiles} access profiles, ${d.enrollments} enrollments, ${d.delegates} delegates, ${d.tasks} tasks, ${d.campaignTemplates} campaign templates`;
    output.out(`${dryRun ? '~ would apply' : '✓ applied'} Directory: ${counts}`);
  }
  for (const applied of result.applied) {
    const verb = !applied.created ? '= unchanged' : dryRun ? '~ would apply' : '✓ applied';
    output.out(`${verb} ${applied.kind}/${applied.name} v${applied.version}`);
  }
}

/** `idflow apply` (and `directory apply`): every file under `paths` in one file set. */
export async function apply(output: Output, paths: string[], dryRun: boolean, local: boolean): Promise<void> {
  const files = await definitionFiles(paths);
  const target = await findApi();
  if (!target && local) {
    // No API: validate the file set on its own (references must be inside it).
    const result = loadDefinitions(files, { webhooks: [], automations: [] });
    report(
      output,
      {
        ok: result.errors.length === 0,
        errors: result.errors,
        applied: result.documents.flatMap((d) =>
          d.kind === 'Directory' ? [] : [{ kind: d.kind, name: d.name, version: 0, created: true }],
        ),
      },
      true,
    );
    output.out(`${files.length} file${files.length === 1 ? '' : 's'} valid (checked locally: no idflow API running)`);
    return;
  }
  const client = target ? new ApiClient(target) : await connect();
  report(output, await client.request<ApplyResult>('POST', '/v1/apply', { files, dryRun }, [422]), dryRun);
}

/** The window `apply --plan` replays by default: the recent events a change would meet first. */
const PLAN_WINDOW = '7d';

/**
 * `idflow apply --plan`: for each new or changed automation of the file set, which recent events
 * would match differently and which runs would get other inputs (a replay); applies nothing.
 */
async function planApply(output: Output, paths: string[], since: string): Promise<void> {
  const result = await requestReplay(output, { files: await definitionFiles(paths), changedOnly: true, since });
  for (const name of result.unchanged) output.out(`= unchanged Automation/${name}`);
  for (const report of result.replays) output.out(formatReplay(report, PLAN_LISTED));
  output.out(result.replays.length === 0 ? 'no new or changed automation: nothing to replay; nothing was applied' : 'nothing was applied');
}

export function registerDefinitionCommands(program: Command, output: Output): void {
  program
    .command('validate')
    .description('Check definition files or folders; applies nothing')
    .argument('<paths...>')
    .action((paths: string[]) => apply(output, paths, true, true));

  program
    .command('apply')
    .description('Apply definition files or folders: a new version for each changed definition, nothing at all if any has an error')
    .argument('<paths...>')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--plan', 'say which recent events the new and changed automations would match differently; change nothing')
    .option('--since <duration>', `with --plan: the window, back from now (default ${PLAN_WINDOW})`)
    .action((paths: string[], options: { dryRun?: boolean; plan?: boolean; since?: string }) => {
      if (options.since !== undefined && !options.plan) throw new CliError('--since goes with --plan', 2);
      if (options.plan && options.dryRun) throw new CliError('give --plan or --dry-run, not both', 2);
      if (options.plan) return planApply(output, paths, options.since ?? PLAN_WINDOW);
      return apply(output, paths, Boolean(options.dryRun), false);
    });

  const automations = program.command('automations').description('List, inspect, roll back, enable and disable automations');
  automations
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { automations: list } = await (
        await connect()
      ).request<{ automations: { name: string; version: number; enabled: boolean; triggerType?: string; description?: string }[] }>(
        'GET',
        '/v1/automations',
      );
      if (options.json) return printJson(output, list);
      if (list.length === 0) return output.out('no automations: apply some with `idflow apply PATH`');
      for (const a of list)
        output.out(
          `${a.enabled ? '●' : '○'} ${a.name.padEnd(28)} v${String(a.version).padEnd(4)} ${(a.triggerType ?? '').padEnd(18)} ${a.description ?? ''}`,
        );
    });
  automations
    .command('show')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { json?: boolean }) => {
      const current = await (
        await connect()
      ).request<DefinitionVersion & { enabled: boolean }>('GET', `/v1/automations/${encodeURIComponent(name)}`);
      if (options.json) return printJson(output, current);
      output.out(
        `${current.name} v${current.version} (${current.enabled ? 'enabled' : 'disabled'}), applied ${current.createdAt} by ${current.createdBy} from ${current.source}`,
      );
      output.out(JSON.stringify(current.spec, null, 2));
    });
  automations
    .command('history')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { json?: boolean }) => {
      const { versions } = await (
        await connect()
      ).request<{ versions: DefinitionVersion[] }>('GET', `/v1/automations/${encodeURIComponent(name)}/versions`);
      if (options.json) return printJson(output, versions);
      for (const v of versions)
        output.out(`v${String(v.version).padEnd(4)} ${v.createdAt}  ${v.createdBy.padEnd(16)} ${v.source}  ${v.hash.slice(0, 12)}`);
    });
  automations
    .command('rollback')
    .argument('<name>')
    .argument('<version>', 'the version whose content becomes current', positiveInt)
    .action(async (name: string, version: number) => {
      const applied = await (
        await connect()
      ).request<{ version: number; created: boolean }>('POST', `/v1/automations/${encodeURIComponent(name)}/rollback`, { version });
      output.out(
        applied.created
          ? `✓ ${name} is now v${applied.version} (the content of v${version})`
          : `= ${name} already has the content of v${version}`,
      );
    });
  for (const action of ['enable', 'disable'] as const) {
    automations
      .command(action)
      .argument('<name>')
      .action(async (name: string) => {
        await (await connect()).request('POST', `/v1/automations/${encodeURIComponent(name)}/${action}`);
        output.out(`✓ ${name} ${action}d`);
      });
  }

  program
    .command('schema')
    .description('Write the JSON Schemas of definition files (for editors)')
    .option('--out <dir>', 'output folder', 'schema')
    .action(async (options: { out: string }) => {
      for (const file of await writeDefinitionSchemas(options.out)) output.out(`wrote ${file}`);
    });
}
