/** idflow sources list|deliveries|replay, and idflow sources secrets set|list|delete: HR webhooks (kind: EventSource). */
import type { Command } from 'commander';
import type { DeliveryOutcome, SourceSummary } from '../../engine/sources.js';
import type { SourceDeliverySummary } from '../../store/types.js';
import { positiveInt, readSecretValue } from '../args.js';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';

/** `/v1/sources/NAME/...`, each part encoded (delivery ids are senders' strings). */
const path = (...parts: string[]): string => `/v1/sources/${parts.map(encodeURIComponent).join('/')}`;

function describeOutcome(outcome: DeliveryOutcome): string {
  const { created, updated, deactivated, unchanged } = outcome.users;
  const events = outcome.events.map((event) => `${event.id} (${event.type}${event.duplicate ? ', received before' : ''})`);
  return [
    `✓ ${outcome.source}: delivery ${outcome.delivery} mapped`,
    `  events: ${events.length > 0 ? events.join(', ') : '(none)'}`,
    `  users: ${created} created, ${updated} updated, ${deactivated} deactivated, ${unchanged} unchanged`,
  ].join('\n');
}

export function registerSourceCommands(program: Command, output: Output): void {
  const sources = program.command('sources').description('Event sources: signed webhooks of HR systems (kind: EventSource)');
  sources
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { sources: list } = await (await connect()).request<{ sources: SourceSummary[] }>('GET', '/v1/sources');
      if (options.json) return printJson(output, list);
      if (list.length === 0) return output.out('no event sources: apply a kind: EventSource document with `idflow apply PATH`');
      for (const source of list) {
        const maps = (['events', 'users'] as const).filter((field) => source.spec.mapping[field] !== undefined).join(' + ');
        output.out(
          `${source.name.padEnd(24)} v${String(source.version).padEnd(4)} ${source.enabled ? 'enabled ' : 'disabled'}  ${source.spec.signature.scheme.padEnd(17)} → ${maps.padEnd(14)}  POST /v1/sources/${source.name}`,
        );
      }
    });
  sources
    .command('deliveries')
    .description("A source's recent requests, newest first: status and reason (bodies are never shown)")
    .argument('<name>')
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { limit: number; json?: boolean }) => {
      const { deliveries } = await (
        await connect()
      ).request<{ deliveries: SourceDeliverySummary[] }>('GET', `${path(name, 'deliveries')}?limit=${options.limit}`);
      if (options.json) return printJson(output, deliveries);
      if (deliveries.length === 0) return output.out(`event source ${name} has received nothing yet`);
      for (const delivery of deliveries)
        output.out(
          `${delivery.receivedAt}  ${delivery.status.padEnd(11)} ${delivery.id.padEnd(44)} ${delivery.remoteAddress}${delivery.reason ? `  ${delivery.reason}` : ''}`,
        );
    });
  sources
    .command('replay')
    .description("Map a kept delivery again with the source's current version (after fixing its mapping)")
    .argument('<name>')
    .argument('<delivery>')
    .option('--json', 'print one JSON object')
    .action(async (name: string, delivery: string, options: { json?: boolean }) => {
      const outcome = await (await connect()).request<DeliveryOutcome>('POST', path(name, 'deliveries', delivery, 'replay'));
      if (options.json) return printJson(output, outcome);
      output.out(describeOutcome(outcome));
    });

  const secrets = sources.command('secrets').description("A source's sealed secrets: stored encrypted, listed by name, never printed");
  secrets
    .command('set')
    .description('Set a secret from stdin: printf %s "$KEY" | idflow sources secrets set SOURCE KEY')
    .argument('<source>')
    .argument('<key>')
    .action(async (name: string, key: string) => {
      const value = await readSecretValue('idflow sources secrets set SOURCE KEY');
      await (await connect()).request('PUT', path(name, 'secrets', key), { value });
      output.out(`✓ ${name}: ${key} set`);
    });
  secrets
    .command('list')
    .argument('<source>')
    .action(async (name: string) => {
      const { secrets: list } = await (
        await connect()
      ).request<{ secrets: { key: string; updatedAt: string; updatedBy: string }[] }>('GET', path(name, 'secrets'));
      if (list.length === 0) return output.out(`event source ${name} has no secrets`);
      for (const entry of list) output.out(`${entry.key.padEnd(24)} set ${entry.updatedAt} by ${entry.updatedBy}`);
    });
  secrets
    .command('delete')
    .argument('<source>')
    .argument('<key>')
    .action(async (name: string, key: string) => {
      await (await connect()).request('DELETE', path(name, 'secrets', key));
      output.out(`✓ ${name}: ${key} deleted`);
    });
}
