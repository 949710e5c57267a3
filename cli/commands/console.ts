/** idflow console link: a one-time sign-in link to the web console for the CLI's own token (POST /v1/console/links). */
import type { Command } from 'commander';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';

export function registerConsoleCommands(program: Command, output: Output): void {
  const web = program.command('console').description('The web console, served by the API at /');

  web
    .command('link')
    .description("Print a one-time sign-in link to the web console for this CLI's token (its scopes, no more)")
    .option('--expires-in <duration>', 'how long the link can be used, at most 24h (default 15m)')
    .option('--json', 'machine-readable output: { url, expiresAt }')
    .action(async (options: { expiresIn?: string; json?: boolean }) => {
      const client = await connect();
      const link = await client.request<{ url: string; expiresAt: string }>(
        'POST',
        '/v1/console/links',
        options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn },
      );
      if (options.json) return printJson(output, link);
      output.out(link.url);
      output.err(`one sign-in, until ${link.expiresAt}`);
    });
}
