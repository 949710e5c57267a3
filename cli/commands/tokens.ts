/**
 * idflow tokens create: API tokens for production (idflow dev makes its own). Writes to the
 * store directly, so it runs where the store is: an operator's command, not an API call.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { openStore } from '../../store/index.js';
import type { Scope } from '../../store/types.js';
import { CliError, type Output } from '../output.js';

const SCOPES: Scope[] = ['admin', 'definitions:read', 'definitions:write', 'events:write', 'events:read', 'runs:read', 'runs:write', 'directory:read', 'directory:write', 'functions:read', 'functions:write', 'functions:run'];

function scopes(value: string): Scope[] {
  const list = value.split(',').map((scope) => scope.trim());
  const unknown = list.filter((scope) => !SCOPES.includes(scope as Scope));
  if (unknown.length > 0) throw new CliError(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; scopes are ${SCOPES.join(', ')}`);
  return list as Scope[];
}

export function registerTokenCommands(program: Command, output: Output): void {
  program
    .command('tokens')
    .description('API tokens')
    .command('create')
    .description('Create an API token and print it once (only its hash is stored)')
    .argument('<name>', 'who uses it: the actor in the audit log')
    .requiredOption('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, scopes)
    .option('--data-dir <dir>', 'where the store lives (also IDFLOW_DATA_DIR)')
    .action(async (name: string, options: { scopes: Scope[]; dataDir?: string }) => {
      const store = await openStore({ file: join(resolve(options.dataDir ?? process.env.IDFLOW_DATA_DIR ?? '.data'), 'idflow.sqlite') });
      try {
        const token = await store.tokens.create(name, options.scopes).catch((error: Error) => {
          throw new CliError(error.message);
        });
        output.out(token);
      } finally {
        await store.close();
      }
    });
}
