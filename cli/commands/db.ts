/**
 * idflow db migrate|status: the store's schema, explicitly. Every process also migrates when it
 * opens the store (concurrent starts migrate once); `migrate` lets a deployment do it first, as
 * a one-shot job before new API and worker processes start.
 */
import type { Command } from 'commander';
import { describeStoreLocation, openDatabase, openStore } from '../../store/index.js';
import { migrationState, type MigrationState } from '../../store/migrations.js';
import { CliError, printJson, type Output } from '../output.js';
import { storeFlags, storeLocationFrom, type StoreFlags } from '../store.js';

async function readState(flags: StoreFlags): Promise<MigrationState> {
  const location = storeLocationFrom(flags);
  const { db } = openDatabase(location);
  try {
    return await migrationState(db);
  } catch (error) {
    throw new CliError(`cannot read the store ${describeStoreLocation(location)}: ${(error as Error).message}`);
  } finally {
    await db.destroy();
  }
}

const pendingNames = (state: MigrationState): string[] => state.known.filter((m) => m.appliedAt === undefined).map((m) => m.name);

export function registerDbCommands(program: Command, output: Output): void {
  const db = program.command('db').description("The store's schema: which migrations it has, and applying them");

  storeFlags(db.command('status'))
    .description('List the migrations this idflow knows and when each was applied to the store')
    .option('--json', 'machine-readable output')
    .action(async (options: StoreFlags & { json?: boolean }) => {
      const location = storeLocationFrom(options);
      const state = await readState(options);
      if (options.json) return printJson(output, { store: describeStoreLocation(location), ...state });
      output.out(`store ${describeStoreLocation(location)}`);
      for (const migration of state.known)
        output.out(`  ${migration.appliedAt ? `✓ ${migration.name}  ${migration.appliedAt}` : `· ${migration.name}  pending`}`);
      for (const name of state.unknown) output.out(`  ! ${name}  applied by a newer idflow`);
      const pending = pendingNames(state).length;
      output.out(
        state.unknown.length > 0
          ? 'the store is newer than this idflow: run a newer version'
          : pending > 0
            ? `${pending} pending: idflow db migrate applies them`
            : 'up to date',
      );
    });

  storeFlags(db.command('migrate'))
    .description('Apply the pending migrations (processes also do this when they start)')
    .action(async (options: StoreFlags) => {
      const location = storeLocationFrom(options);
      const before = pendingNames(await readState(options));
      const store = await openStore(location);
      await store.close();
      output.out(
        before.length === 0
          ? `${describeStoreLocation(location)} is up to date`
          : `applied ${before.join(', ')} to ${describeStoreLocation(location)}`,
      );
    });
}
