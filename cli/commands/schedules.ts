/** idflow schedules list|trigger|pause|unpause|backfill. */
import type { Command } from 'commander';
import type { ScheduleSummary } from '../../engine/schedules.js';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';

export function registerScheduleCommands(program: Command, output: Output): void {
  const schedules = program.command('schedules').description('Scheduled automations (Temporal Schedules)');
  schedules
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { schedules: list } = await (await connect()).request<{ schedules: ScheduleSummary[] }>('GET', '/v1/schedules');
      if (options.json) return printJson(output, list);
      if (list.length === 0) return output.out('no scheduled automations');
      for (const schedule of list) {
        output.out(
          `${schedule.paused ? '⏸' : '●'} ${schedule.name}  ${schedule.cron ?? `every ${schedule.every}`}  ${schedule.timezone}  (Temporal schedule ${schedule.scheduleId})`,
        );
        for (const next of schedule.nextFireTimes) output.out(`    next: ${next.local}`);
      }
    });
  schedules
    .command('trigger')
    .description('Run the automation now, outside its schedule')
    .argument('<name>')
    .action(async (name: string) => {
      await (await connect()).request('POST', `/v1/schedules/${encodeURIComponent(name)}/trigger`);
      output.out(`✓ ${name} triggered`);
    });
  for (const action of ['pause', 'unpause'] as const) {
    schedules
      .command(action)
      .argument('<name>')
      .action(async (name: string) => {
        await (await connect()).request('POST', `/v1/schedules/${encodeURIComponent(name)}/${action}`);
        output.out(`✓ ${name} ${action}d`);
      });
  }
  schedules
    .command('backfill')
    .description('Run the ticks the schedule would have had between two times')
    .argument('<name>')
    .requiredOption('--from <time>', 'RFC 3339')
    .requiredOption('--to <time>', 'RFC 3339')
    .action(async (name: string, options: { from: string; to: string }) => {
      await (await connect()).request('POST', `/v1/schedules/${encodeURIComponent(name)}/backfill`, { from: options.from, to: options.to });
      output.out(`✓ ${name} backfilled from ${options.from} to ${options.to}`);
    });
}
