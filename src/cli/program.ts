import { Command, CommanderError } from 'commander';
import { errorMessage, InputError } from '../lib/errors.js';
import { inertLines } from '../lib/inert.js';
import { ExitCode } from './exit-codes.js';
import { registerInventory } from './commands/inventory.js';
import { registerHealth } from './commands/health.js';
import { registerTofu } from './commands/tofu.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerIncident } from './commands/incident.js';
import { registerBackup } from './commands/backup.js';
import { registerRollback } from './commands/rollback.js';

export { ExitCode };

/**
 * `rke2-ops`: the same core as the actions, from a laptop - so recovering a cluster never
 * depends on GitHub being up. Results go to stdout, progress to stderr.
 */
export function buildProgram(): Command {
  const program = new Command('rke2-ops')
    .description(
      'Day-2 operations for RKE2 clusters: inventory, health, tofu, snapshot, incident, backup-freshness',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 ok (healthy), 1 failed verdict or operation, 2 bad input (nothing was contacted).',
    )
    .showHelpAfterError()
    .exitOverride()
    // commander echoes unknown options and arguments verbatim: inert them like our own messages.
    .configureOutput({ outputError: (text, write) => write(inertLines(text)) });
  registerInventory(program);
  registerHealth(program);
  registerTofu(program);
  registerSnapshot(program);
  registerIncident(program);
  registerBackup(program);
  registerRollback(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[]);
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput; // help/version, else usage
    process.stderr.write(`rke2-ops: ${inertLines(errorMessage(error))}\n`);
    return error instanceof InputError ? ExitCode.badInput : ExitCode.failed;
  }
}
