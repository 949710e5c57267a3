/** The idflow CLI. `main` returns the exit code so tests can run commands in-process. */
import { Command, CommanderError } from 'commander';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerCelCommands } from './commands/cel.js';
import { registerConsoleCommands } from './commands/console.js';
import { registerDbCommands } from './commands/db.js';
import { registerDefinitionCommands } from './commands/definitions.js';
import { registerDirectoryCommands } from './commands/directory.js';
import { registerRuntimeCommands } from './commands/dev.js';
import { registerEventCommands } from './commands/events.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerPlanCommands } from './commands/plan.js';
import { registerReplayCommands } from './commands/replay.js';
import { registerRunCommands } from './commands/runs.js';
import { registerGuardCommands } from './commands/guard.js';
import { registerScheduleCommands } from './commands/schedules.js';
import { registerSourceCommands } from './commands/sources.js';
import { registerTokenCommands } from './commands/tokens.js';
import { CliError, processOutput, type Output } from './output.js';

export function buildProgram(output: Output): Command {
  const program = new Command('idflow')
    .description('Identity automations on Temporal')
    .exitOverride()
    .configureOutput({ writeOut: (text) => output.out(text.trimEnd()), writeErr: (text) => output.err(text.trimEnd()) });
  registerRuntimeCommands(program);
  registerDefinitionCommands(program, output);
  registerEventCommands(program, output);
  registerRunCommands(program, output);
  registerGuardCommands(program, output);
  registerApprovalCommands(program, output);
  registerPlanCommands(program, output);
  registerReplayCommands(program, output);
  registerScheduleCommands(program, output);
  registerDirectoryCommands(program, output);
  registerFunctionCommands(program, output);
  registerSourceCommands(program, output);
  registerCelCommands(program, output);
  registerTokenCommands(program, output);
  registerConsoleCommands(program, output);
  registerDbCommands(program, output);
  return program;
}

export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  try {
    await buildProgram(output).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // An empty message: the command has said everything already (e.g. one JSON object on stdout).
    const message = error instanceof Error ? error.message : String(error);
    if (message) output.err(`idflow: ${message}`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}
