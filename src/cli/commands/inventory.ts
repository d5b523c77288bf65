import type { Command } from 'commander';
import { loadInventoryFile } from '../../inventory/load.js';
import { describeInventory } from '../../inventory/describe.js';

export function registerInventory(program: Command): void {
  const inventory = program.command('inventory').description('work with cluster inventories');
  inventory
    .command('validate')
    .description(
      'validate an inventory file (the document or `tofu output -json`) and print its summary as JSON',
    )
    .requiredOption('-i, --inventory <file>', 'inventory JSON file')
    .action(async (opts: { inventory: string }) => {
      const loaded = await loadInventoryFile(opts.inventory);
      loaded.warnings.forEach((w) => process.stderr.write(`warning: ${w}\n`));
      process.stdout.write(
        JSON.stringify(describeInventory(loaded.inventory, loaded.warnings), null, 2) + '\n',
      );
    });
}
