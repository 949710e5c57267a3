/**
 * idflow tokens create|list|revoke: API tokens for production (idflow dev makes its own).
 * Writes to the store directly, so it runs where the store is: an operator's command, not an
 * API call (no token can mint or revoke tokens).
 */
import type { Command } from 'commander';
import { SCOPES } from '../../api/scopes.js';
import { DURATION_HINT, parseDuration } from '../../core/duration.js';
import type { Scope, TokenRecord } from '../../store/types.js';
import { CliError, printJson, type Output } from '../output.js';
import { storeFlags, withStore, type StoreFlags } from '../store.js';

function scopes(value: string): Scope[] {
  const list = value.split(',').map((scope) => scope.trim());
  const unknown = list.filter((scope) => !SCOPES.includes(scope as Scope));
  if (unknown.length > 0) throw new CliError(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; scopes are ${SCOPES.join(', ')}`);
  return list as Scope[];
}

function expiresIn(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new CliError(`--expires-in: "${value}" is not ${DURATION_HINT}`);
  return ms;
}

function expiresAt(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime()))
    throw new CliError(`--expires-at: "${value}" is not an RFC 3339 time such as 2027-01-31T00:00:00Z`);
  return at;
}

function state(token: TokenRecord, now: number): string {
  if (token.revokedAt) return `revoked ${token.revokedAt}`;
  if (token.expiresAt) return `${Date.parse(token.expiresAt) <= now ? 'expired' : 'expires'} ${token.expiresAt}`;
  return 'never expires';
}

export function registerTokenCommands(program: Command, output: Output): void {
  const tokens = program.command('tokens').description('API tokens (stored hashed; shown once, at creation)');

  storeFlags(tokens.command('create'))
    .description('Create an API token and print it once (only its hash is stored)')
    .argument('<name>', 'who uses it: the actor in the audit log')
    .requiredOption('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, scopes)
    .option('--expires-in <duration>', 'refused after this long, e.g. 30d or 12h', expiresIn)
    .option('--expires-at <time>', 'refused after this RFC 3339 time', expiresAt)
    .action(async (name: string, options: { scopes: Scope[]; expiresIn?: number; expiresAt?: Date } & StoreFlags) => {
      if (options.expiresIn !== undefined && options.expiresAt !== undefined)
        throw new CliError('give --expires-in or --expires-at, not both');
      const expiry = options.expiresAt ?? (options.expiresIn === undefined ? undefined : new Date(Date.now() + options.expiresIn));
      if (expiry !== undefined && expiry.getTime() <= Date.now())
        throw new CliError(`--expires-at: ${expiry.toISOString()} is in the past`);
      const token = await withStore(options, (store) =>
        store.tokens.create(name, options.scopes, { expiresAt: expiry }).catch((error: Error) => {
          throw new CliError(error.message);
        }),
      );
      output.out(token);
    });

  storeFlags(tokens.command('list'))
    .description('Every token: name, scopes, created, expiry or revocation, last use (never the token)')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean } & StoreFlags) => {
      const list = await withStore(options, (store) => store.tokens.list());
      if (options.json) return printJson(output, list);
      const now = Date.now();
      for (const token of list) {
        output.out(
          `${token.name}  ${token.scopes.join(',')}  created ${token.createdAt}  ${state(token, now)}  last used ${token.lastUsedAt ?? 'never'}`,
        );
      }
    });

  storeFlags(tokens.command('revoke'))
    .description('Revoke a token: requests with it get 401 from now on')
    .argument('<name>')
    .action(async (name: string, options: StoreFlags) => {
      const revoked = await withStore(options, (store) => store.tokens.revoke(name));
      if (!revoked) throw new CliError(`no live token named "${name}" (see idflow tokens list)`);
      output.out(`revoked token "${name}"`);
    });
}
