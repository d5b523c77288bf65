import { Command, CommanderError } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { registerInventory } from './commands/inventory.js';
import { registerHealth } from './commands/health.js';

/**
 * `rke2-ops`: the same core as the actions, from a laptop - so recovering a cluster never
 * depends on GitHub being up. Machine-readable results go to stdout, progress to stderr.
 */
export function buildProgram(): Command {
  const program = new Command('rke2-ops')
    .description('Day-2 operations for RKE2 clusters: inventory, health, snapshot, rollback')
    .showHelpAfterError()
    .exitOverride();
  registerInventory(program);
  registerHealth(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[]);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`rke2-ops: ${errorMessage(error)}\n`);
    return 1;
  }
}
