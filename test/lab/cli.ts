/**
 * Lab CLI (README "Use it"):
 *   npx tsx test/lab/cli.ts up --masters 3 --workers 3 [--scenario healthy|none] [--name lab] [--ssh-port 2222]
 *                                [--compress] [--module-configs DIR] [--version v1.34.4+rke2r1]
 *                                [--timing realistic|fast] [--etcd-s3-timeout 30s]
 *   npx tsx test/lab/cli.ts down [--name lab] [--all [--mine]]
 *   npx tsx test/lab/cli.ts scenario <name> [--name lab] [--node N] [--version V] [--snapshot F]
 *                                [--mode refuse|blackhole] [--at <unix ts|ISO>] [--free-bytes N] [--clear]
 *   npx tsx test/lab/cli.ts s3 down|up [--mode refuse|blackhole] [--name lab]
 *   npx tsx test/lab/cli.ts snapshot-schedule [--at <unix ts|ISO>] [--name lab]
 *   npx tsx test/lab/cli.ts velero-schedule [--schedule velero-full-cluster] [--name lab]
 *   npx tsx test/lab/cli.ts volume read|write <namespace> <pvc> [file=content...] [--replace] [--name lab]
 *   npx tsx test/lab/cli.ts unit <node> [--lines 20] [--name lab]
 *   npx tsx test/lab/cli.ts timing [--set knob=value...] [--fast] [--name lab]
 *   npx tsx test/lab/cli.ts status [--name lab]
 * State: $RKE2OPS_LAB_DIR/<name> or .lab/<name>. Needs root (mount namespaces, sshd).
 */
import { Command } from 'commander';
import { createLab, openLab, destroyLabDir, destroyAllLabs, labProcesses } from './lab.js';
import { labDir, labRoot, registeredLabs } from './paths.js';
import { readState } from './state.js';
import { rssKiB } from './procs.js';
import type { ScenarioName, ScenarioOptions } from './scenarios.js';
import { FAST_TIMING, type LabTiming } from './timing.js';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** A unix timestamp or an ISO date. */
function parseAt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`--at ${JSON.stringify(text)}: a unix timestamp or an ISO date`);
  return Math.floor(t / 1000);
}

async function withLab<T>(
  name: string,
  fn: (lab: Awaited<ReturnType<typeof openLab>>) => Promise<T>,
): Promise<T> {
  const lab = await openLab(name);
  try {
    return await fn(lab);
  } finally {
    lab.close();
  }
}

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
  .option('--timing <preset>', 'realistic (default) or fast', 'realistic')
  .option('--etcd-s3-timeout <duration>', 'etcd-s3-timeout on the masters (RKE2 default 5m0s)')
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
      timing: string;
      etcdS3Timeout?: string;
    }) => {
      if (o.timing !== 'realistic' && o.timing !== 'fast') throw new Error('--timing: realistic or fast');
      const lab = await createLab({
        masters: Number(o.masters),
        workers: Number(o.workers),
        scenario: o.scenario as ScenarioName | 'none',
        name: o.name,
        sshPort: Number(o.sshPort),
        timing: o.timing,
        ...(o.etcdS3Timeout ? { etcdS3Timeout: o.etcdS3Timeout } : {}),
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
  .option('--mode <mode>', 's3-down: refuse or blackhole')
  .option('--at <time>', 'scheduled-snapshot: unix timestamp or ISO date')
  .option('--free-bytes <n>', 'disk-full: bytes left free')
  .option('--clear', 'undo the scenario (where possible)')
  .action(
    async (
      scenario: string,
      o: {
        name: string;
        node?: string;
        version?: string;
        snapshot?: string;
        mode?: string;
        at?: string;
        freeBytes?: string;
        clear?: boolean;
      },
    ) => {
      const opts: ScenarioOptions = {
        ...(o.node ? { node: o.node } : {}),
        ...(o.version ? { version: o.version } : {}),
        ...(o.snapshot ? { snapshot: o.snapshot } : {}),
        ...(o.mode ? { mode: o.mode as 'refuse' | 'blackhole' } : {}),
        ...(o.at ? { at: parseAt(o.at)! } : {}),
        ...(o.freeBytes ? { freeBytes: Number(o.freeBytes) } : {}),
      };
      await withLab(o.name, (lab) =>
        o.clear
          ? lab.clearScenario(scenario as ScenarioName, opts)
          : lab.applyScenario(scenario as ScenarioName, opts),
      );
    },
  );

program
  .command('s3 <action>')
  .description('down: S3 goes away (--mode refuse|blackhole); up: every S3 fault ends')
  .option('--name <name>', 'lab name', 'lab')
  .option('--mode <mode>', 'refuse or blackhole', 'refuse')
  .action(async (action: string, o: { name: string; mode: string }) => {
    await withLab(o.name, (lab) => {
      if (action === 'down') return lab.s3Down({ mode: o.mode as 'refuse' | 'blackhole' });
      if (action === 'up') return lab.s3Up();
      throw new Error('s3: down or up');
    });
  });

program
  .command('snapshot-schedule')
  .description("the masters' scheduled etcd snapshot, as taken at --at (default now)")
  .option('--name <name>', 'lab name', 'lab')
  .option('--at <time>', 'unix timestamp or ISO date')
  .action(async (o: { name: string; at?: string }) => {
    const at = parseAt(o.at);
    print(await withLab(o.name, (lab) => lab.scheduledSnapshots(at === undefined ? {} : { at })));
  });

program
  .command('velero-schedule')
  .description('fire a Velero Schedule now; prints the Backup name')
  .option('--name <name>', 'lab name', 'lab')
  .option('--schedule <schedule>', 'Schedule name', 'velero-full-cluster')
  .action(async (o: { name: string; schedule: string }) => {
    process.stdout.write(`${await withLab(o.name, (lab) => lab.runSchedule(o.schedule))}\n`);
  });

program
  .command('volume <action> <namespace> <pvc> [files...]')
  .description('read: print the files of a PVC volume as JSON; write: file=content...')
  .option('--name <name>', 'lab name', 'lab')
  .option('--replace', 'write: empty the volume first')
  .action(
    async (
      action: string,
      ns: string,
      pvc: string,
      files: string[],
      o: { name: string; replace?: boolean },
    ) => {
      await withLab(o.name, async (lab) => {
        if (action === 'read') print(await lab.readVolume(ns, pvc));
        else if (action === 'write') {
          const content = Object.fromEntries(
            files.map((f) => {
              const eq = f.indexOf('=');
              if (eq < 1) throw new Error(`${JSON.stringify(f)}: file=content`);
              return [f.slice(0, eq), f.slice(eq + 1)];
            }),
          );
          await lab.writeVolume(ns, pvc, content, { replace: o.replace ?? false });
        } else throw new Error('volume: read or write');
      });
    },
  );

program
  .command('unit <node>')
  .description("the node's unit state (systemctl show) and journal tail")
  .option('--name <name>', 'lab name', 'lab')
  .option('--lines <n>', 'journal lines', '20')
  .action(async (node: string, o: { name: string; lines: string }) => {
    await withLab(o.name, async (lab) => {
      print(await lab.unitStatus(node));
      process.stdout.write(await lab.journal(node, Number(o.lines)));
    });
  });

program
  .command('timing')
  .description('print the timing knobs; --set knob=value changes them, --fast applies the fast preset')
  .option('--name <name>', 'lab name', 'lab')
  .option('--set <kv...>', 'knob=seconds')
  .option('--fast', 'the fast preset')
  .action(async (o: { name: string; set?: string[]; fast?: boolean }) => {
    await withLab(o.name, async (lab) => {
      const changes: Partial<LabTiming> = o.fast ? { ...FAST_TIMING } : {};
      for (const kv of o.set ?? []) {
        const [k, v] = kv.split('=');
        if (!k || !(k in lab.timing) || !Number.isFinite(Number(v)))
          throw new Error(`--set ${JSON.stringify(kv)}: knob=seconds`);
        (changes as Record<string, number>)[k] = Number(v);
      }
      if (Object.keys(changes).length > 0) lab.setTiming(changes);
      print(lab.timing);
    });
  });

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
