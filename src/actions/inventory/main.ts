import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { readInventoryConfig } from '../../inventory/config.js';
import { loadInventoryFile, parseInventory } from '../../inventory/load.js';
import { describeInventory } from '../../inventory/describe.js';

/** The action's entry point (GitHub's typescript-action convention). */
export async function run(): Promise<void> {
  await runAction('inventory', execute);
}

/** Validates an inventory and publishes its facts: the fail-fast first step of a workflow. */
export async function execute(ctx: ActionContext): Promise<void> {
  const config = readInventoryConfig(ctx.getInput);
  const started = Date.now();
  const loaded = config.inventoryFile
    ? await loadInventoryFile(config.inventoryFile)
    : parseInventory(config.inventory!, 'inventory');
  loaded.warnings.forEach((w) => ctx.logger.warning(w));
  const report = describeInventory(loaded.inventory, loaded.warnings);
  const masters = report.nodes.filter((n) => n.role === 'master');
  const workers = report.nodes.filter((n) => n.role === 'worker');
  core.setOutput('cluster', report.cluster);
  core.setOutput('rke2-version', report.rke2Version);
  core.setOutput('masters', JSON.stringify(masters.map((n) => n.name)));
  core.setOutput('workers', JSON.stringify(workers.map((n) => n.name)));
  core.setOutput('node-count', String(report.nodes.length));
  core.setOutput('report', JSON.stringify(report));
  core.setOutput('duration-seconds', ((Date.now() - started) / 1000).toFixed(3));
  ctx.logger.info(
    `inventory of ${report.cluster}: ${masters.length} masters, ${workers.length} workers, RKE2 ${report.rke2Version}`,
  );
  await core.summary
    .addHeading(`Inventory: ${report.cluster}`, 2)
    .addTable([
      [
        { data: 'Node', header: true },
        { data: 'Role', header: true },
        { data: 'Address', header: true },
        { data: 'Host key fingerprints', header: true },
      ],
      ...report.nodes.map((n) => [
        n.name,
        n.role,
        n.address,
        n.hostKeyFingerprints.join('<br>') || 'none (needs known_hosts)',
      ]),
    ])
    .write();
}
