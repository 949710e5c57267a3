/** idflow cel eval: try an expression the way triggers and templates evaluate it. */
import type { JsonObject } from '../../core/json.js';
import type { Command } from 'commander';
import { CelError, evaluateExpression } from '../../cel/index.js';
import { subjectOf, triggerContext } from '../../triggers/events.js';
import { jsonObjectArg } from '../args.js';
import { CliError, type Output } from '../output.js';

export function registerCelCommands(program: Command, output: Output): void {
  program
    .command('cel')
    .description('Common Expression Language tools')
    .command('eval')
    .description('Evaluate a CEL expression and print the result as JSON')
    .argument('<expression>')
    .option('--vars <json>', 'the variables, e.g. {"ctx": {"trigger": {...}}, "subject": {...}} (JSON or @FILE)')
    .action(async (expression: string, options: { vars?: string }) => {
      const vars = withRunContext(await jsonObjectArg(options.vars, '--vars'));
      try {
        output.out(JSON.stringify(evaluateExpression(expression, vars, { now: new Date() })));
      } catch (error) {
        if (error instanceof CelError) throw new CliError(`CEL ${error.kind} error: ${error.message}`);
        throw error;
      }
    });
}

/** As runs see them: ctx.trigger gets its snake_case aliases and `user`, and `subject` defaults to that user. */
function withRunContext(vars: JsonObject): JsonObject {
  const ctx = vars.ctx;
  const trigger = ctx !== null && typeof ctx === 'object' && !Array.isArray(ctx) ? ctx.trigger : undefined;
  if (trigger === null || typeof trigger !== 'object' || Array.isArray(trigger)) return vars;
  const runTrigger = triggerContext(trigger);
  return { ...vars, ctx: { ...(ctx as JsonObject), trigger: runTrigger }, subject: vars.subject ?? subjectOf(runTrigger) };
}
