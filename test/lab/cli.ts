/**
 * Lab CLI:
 *   npx tsx test/lab/cli.ts up --masters 3 --workers 3 [--scenario healthy|none] [--name lab] [--ssh-port 2222]
 *                                [--compress] [--module-configs DIR] [--version v1.34.4+rke2r1]
 *   npx tsx test/lab/cli.ts down [--name lab] [--all]
 *   npx tsx test/lab/cli.ts scenario <name> [--name lab] [--node N] [--version V] [--snapshot F]
 *   npx tsx test/lab/cli.ts status [--name lab]
 * State: $RKE2OPS_LAB_DIR/<name> or .lab/<name>. Needs root (mount namespaces, sshd).
 */
import { Command } from 'commander';
import { createLab, openLab, destroyLabDir, destroyAllLabs, labProcesses } from './lab.js';
import { labDir, labRoot, registeredLabs } from './paths.js';
import { readState } from './state.js';
import { rssKiB } from './procs.js';
import type { ScenarioName } from './scenarios.js';

const program = new Command('lab').description('rke2-ops lab: an RKE2-like cluster on loopback addresses');

program
  .command('up')
  .option('--masters <n>', 'masters', '3')
  .option('--workers <n>', 'workers', '3')
  .option('--scenario <name>', 'scenario after start-up (healthy|none)', 'healthy')
  .option('--name <name>', 'lab name', 'lab')
  .option('--ssh-port <port>', 'SSH port on every node', '2222')
  .option('--version <v>', 'installed RKE2 version')
  .option('--compress', 'etcd-snapshot-compress: true')
  .option('--module-configs <dir>', 'take each node config.yaml from <dir>/<node-name>.yaml')
  .action(
    async (o: {
      masters: string;
      workers: string;
      scenario: string;
      name: string;
      sshPort: string;
      version?: string;
      compress?: boolean;
      moduleConfigs?: string;
    }) => {
      const lab = await createLab({
        masters: Number(o.masters),
        workers: Number(o.workers),
        scenario: o.scenario as ScenarioName | 'none',
        name: o.name,
        sshPort: Number(o.sshPort),
        ...(o.version ? { rke2Version: o.version } : {}),
        ...(o.compress ? { compress: true } : {}),
        ...(o.moduleConfigs ? { moduleConfigDir: o.moduleConfigs } : {}),
        log: (l) => process.stderr.write(`[lab] ${l}\n`),
      });
      lab.close();
      process.stdout.write(
        `${JSON.stringify({ name: lab.name, dir: lab.dir, inventory: lab.inventoryPath, privateKey: lab.privateKeyPath, kubeconfig: lab.kubeconfigPath, s3: { ...lab.s3, secretAccessKey: '***' } }, null, 2)}\n`,
      );
    },
  );

program
  .command('down')
  .option('--name <name>', 'lab name', 'lab')
  .option('--all', 'every lab on this machine and any stray lab process')
  .option('--mine', 'with --all: only the labs under this lab root ($RKE2OPS_LAB_DIR or .lab)')
  .action(async (o: { name: string; all?: boolean; mine?: boolean }) => {
    if (o.all) {
      const n = await destroyAllLabs(o.mine ? labRoot() : undefined);
      process.stderr.write(`[lab] removed ${n} registered lab(s); no lab process left\n`);
    } else {
      await destroyLabDir(labDir(o.name));
      process.stderr.write(`[lab] ${o.name} down\n`);
    }
  });

program
  .command('scenario <scenario>')
  .option('--name <name>', 'lab name', 'lab')
  .option('--node <node>')
  .option('--version <v>')
  .option('--snapshot <file>')
  .action(
    async (scenario: string, o: { name: string; node?: string; version?: string; snapshot?: string }) => {
      const lab = await openLab(o.name);
      try {
        await lab.applyScenario(scenario as ScenarioName, {
          ...(o.node ? { node: o.node } : {}),
          ...(o.version ? { version: o.version } : {}),
          ...(o.snapshot ? { snapshot: o.snapshot } : {}),
        });
      } finally {
        lab.close();
      }
    },
  );

program
  .command('status')
  .option('--name <name>', 'lab name', 'lab')
  .action((o: { name: string }) => {
    const state = readState(labDir(o.name));
    const procs = state ? labProcesses(state.id, state.dir) : [];
    const out = {
      lab: state
        ? {
            name: state.name,
            dir: state.dir,
            phase: state.phase,
            slot: state.slot,
            nodes: state.nodes.map((n) => ({
              name: n.name,
              role: n.role,
              address: n.address,
              sshdPid: n.sshdPid,
            })),
          }
        : null,
      processes: procs.length,
      rssMiB: Math.round(procs.reduce((a, p) => a + rssKiB(p.pid), 0) / 1024),
      registered: registeredLabs(),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`[lab] error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
