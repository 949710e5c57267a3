/** idflow directory reconcile APP and idflow directory secrets set APP KEY: outbound provisioning. */
import type { Command } from 'commander';
import type { Drift, ReconcileReport } from '../../provisioning/types.js';
import { connect } from '../client.js';
import { CliError, printJson, type Output } from '../output.js';
import { readSecretValue } from '../args.js';

/** One line per difference: what it is and, once applied, how the fix went. */
function driftLine(drift: Drift): string {
  const done = drift.error
    ? `  ✗ ${drift.error.message}`
    : drift.fixed
      ? `  ✓ ${drift.fix === 'create' ? 'created' : `${drift.fix}d`}`
      : '';
  switch (drift.kind) {
    case 'onlyInApp':
      return `  only in the app       ${drift.userName} (${drift.appUserId}), active${done}`;
    case 'onlyInDirectory':
      return `  only in the directory ${drift.user} (${drift.username})${done}`;
    case 'statusDiffers':
      return `  status differs        ${drift.user}: ${drift.app} in the app, ${drift.directory} in the directory${done}`;
    case 'missingMember':
      return `  missing member        ${drift.user} in "${drift.group}" (${drift.entitlement})${done}`;
    case 'extraMember':
      return `  extra member          ${drift.user ?? drift.userName ?? drift.appUserId} in "${drift.group}" (${drift.entitlement})${done}`;
    case 'grantWithoutAccount':
      return `  grant, no account     ${drift.user} holds ${drift.entitlement} but has no account in the app (create_account)`;
  }
}

export function registerProvisioningCommands(directory: Command, output: Output): void {
  directory
    .command('reconcile')
    .description(
      'Compare an app provisioned over SCIM with the directory (users, status, group memberships); --apply fixes the app to match. Exits 1 when a fix failed.',
    )
    .argument('<app>', 'app id or slug')
    .option('--apply', 'fix the app to match the directory')
    .option('--json', 'machine-readable output')
    .action(async (app: string, options: { apply?: boolean; json?: boolean }) => {
      const report = await (
        await connect()
      ).request<ReconcileReport>('POST', `/v1/directory/apps/${encodeURIComponent(app)}/reconcile`, { apply: Boolean(options.apply) });
      if (options.json) printJson(output, report);
      else {
        const { appUsers, accounts, groups } = report.compared;
        output.out(
          `${report.app}: ${appUsers} users in the app, ${accounts} accounts in the directory, ${groups} groups: ${report.drift.length === 0 ? 'no drift' : `${report.drift.length} differences`}${report.applied ? `, ${report.fixed} fixed, ${report.failed} failed` : ''}`,
        );
        for (const drift of report.drift) output.out(driftLine(drift));
      }
      if (report.failed > 0) throw new CliError(`${report.failed} fix${report.failed === 1 ? '' : 'es'} failed (listed above)`);
    });

  directory
    .command('secrets')
    .description("An app's sealed secrets (its provisioning token as { secret: KEY }): set from stdin, never printed")
    .command('set')
    .description('Set a secret of an app from stdin: printf %s "$TOKEN" | idflow directory secrets set APP KEY')
    .argument('<app>', 'app id or slug')
    .argument('<key>')
    .action(async (app: string, key: string) => {
      const value = await readSecretValue('idflow directory secrets set APP KEY');
      await (await connect()).request('PUT', `/v1/directory/apps/${encodeURIComponent(app)}/secrets/${encodeURIComponent(key)}`, { value });
      output.out(`✓ ${app}: ${key} set`);
    });
}
