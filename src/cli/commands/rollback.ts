import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { inert, inertText } from '../../lib/inert.js';
import { readRollbackConfig, RollbackInputs } from '../../rollback/config.js';
import { defaultRollbackIo, type RollbackIo } from '../../rollback/deps.js';
import { runRollback } from '../../rollback/execute.js';
import { renderProgress, renderRollback } from '../render-rollback.js';
import { wantColor } from '../render-health.js';
import { ExitCode } from '../exit-codes.js';

interface RollbackFlags {
  inventory?: string;
  sshKey?: string;
  knownHosts?: string;
  insecureSkipHostKeyVerification?: boolean;
  confirm?: string;
  dryRun?: boolean;
  installCommand?: string;
  veleroNamespaces?: string;
  veleroBackup?: string;
  skipNodes?: string;
  snapshotDir?: string;
  resume: boolean;
  json?: boolean;
  reportFile?: string;
  verbose?: boolean;
  debug?: boolean;
  [timeout: string]: unknown;
}

async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(
      flag,
      `cannot read ${inert(path)} (${(error as NodeJS.ErrnoException).code ?? inertText(String(error))})`,
    );
  }
}

const TIMEOUTS = [
  'stop',
  'install',
  'reset',
  'start',
  'join',
  'workers',
  'velero',
  'health',
  'connect',
] as const;

/**
 * `rke2-ops rollback [snapshot] --confirm <cluster>`: the rollback action from a laptop (GitHub
 * may be down when a cluster is). Flags map onto the action's inputs through the same config
 * layer; secrets come from the environment ($RKE2OPS_SSH_KEY or --ssh-key <file>,
 * $RKE2OPS_S3_ACCESS_KEY / $RKE2OPS_S3_SECRET_KEY). Live progress on stderr, the report on stdout.
 */
export function registerRollback(program: Command, io: RollbackIo = defaultRollbackIo): void {
  const cmd = program
    .command('rollback')
    .argument('[snapshot]', 'snapshot file name, or latest-pre-upgrade (default)')
    .description(
      'restore the cluster to a verified etcd snapshot and its RKE2 version, on the existing nodes',
    )
    .requiredOption('-i, --inventory <file>', 'inventory JSON file')
    .option('-k, --ssh-key <file>', 'SSH private key file (default: $RKE2OPS_SSH_KEY holds the key itself)')
    .option('--known-hosts <file>', 'known_hosts file for nodes without pinned host keys')
    .option('--insecure-skip-host-key-verification', 'do not verify host keys (dangerous)')
    .option('--confirm <cluster>', "the cluster's name: required for a real run")
    .option('--dry-run', 'print the plan after the read-only preflight; change nothing')
    .option('--install-command <cmd>', 'installs a version (INSTALL_RKE2_VERSION/INSTALL_RKE2_TYPE set)')
    .option('--velero-namespaces <list>', 'namespaces to restore with Velero (comma separated)')
    .option('--velero-backup <name>', 'Velero backup (default: the one recorded with the snapshot)')
    .option('--skip-nodes <list>', 'workers to leave out (comma separated)')
    .option('--snapshot-dir <path>', "the masters' etcd-snapshot-dir when customised")
    .option('--no-resume', 'start over instead of resuming an interrupted rollback')
    .option('--lock-stale <duration>', 'a lock silent this long is stale (default 60s)');
  for (const t of TIMEOUTS) cmd.option(`--${t}-timeout <duration>`, `limit for ${t}`);
  cmd
    .option('--json', 'print the JSON report on stdout')
    .option('--report-file <path>', 'also write the JSON report to this file')
    .option('-v, --verbose', 'print the detailed log on stderr')
    .option('--debug', 'print debug output')
    .action(async (ref: string | undefined, flags: RollbackFlags) => {
      const verbose = Boolean(flags.verbose || flags.debug);
      const base = consoleLogger({ debug: flags.debug, verbose });
      // Without --verbose the live progress lines are the log: no group headers beside them.
      const logger = verbose ? base : { ...base, group: <T>(_t: string, fn: () => Promise<T>) => fn() };
      const secrets = new SecretRegistry();
      const env = process.env;
      const values: Record<string, string> = {
        [RollbackInputs.inventoryFile]: flags.inventory ?? '',
        [RollbackInputs.sshKey]: flags.sshKey
          ? await readFlagFile('--ssh-key', flags.sshKey)
          : (env.RKE2OPS_SSH_KEY ?? ''),
        [RollbackInputs.sshKeyPassphrase]: env.RKE2OPS_SSH_KEY_PASSPHRASE ?? '',
        [RollbackInputs.knownHosts]: flags.knownHosts
          ? await readFlagFile('--known-hosts', flags.knownHosts)
          : '',
        [RollbackInputs.insecureSkip]: flags.insecureSkipHostKeyVerification ? 'true' : '',
        [RollbackInputs.snapshot]: ref ?? '',
        [RollbackInputs.confirm]: flags.confirm ?? '',
        [RollbackInputs.dryRun]: flags.dryRun ? 'true' : '',
        [RollbackInputs.s3AccessKey]: env.RKE2OPS_S3_ACCESS_KEY ?? env.AWS_ACCESS_KEY_ID ?? '',
        [RollbackInputs.s3SecretKey]: env.RKE2OPS_S3_SECRET_KEY ?? env.AWS_SECRET_ACCESS_KEY ?? '',
        [RollbackInputs.installCommand]: flags.installCommand ?? '',
        [RollbackInputs.veleroNamespaces]: flags.veleroNamespaces ?? '',
        [RollbackInputs.veleroBackup]: flags.veleroBackup ?? '',
        [RollbackInputs.skipNodes]: flags.skipNodes ?? '',
        [RollbackInputs.snapshotDir]: flags.snapshotDir ?? '',
        [RollbackInputs.resume]: flags.resume === false ? 'false' : '',
        [RollbackInputs.lockStale]: typeof flags.lockStale === 'string' ? flags.lockStale : '',
      };
      for (const t of TIMEOUTS) {
        const v = flags[`${t}Timeout`];
        values[`${t}-timeout`] = typeof v === 'string' ? v : '';
      }
      let config;
      try {
        config = await readRollbackConfig((name) => values[name] ?? '', secrets);
      } catch (error) {
        if (error instanceof InputError && error.field === RollbackInputs.confirm)
          throw new InputError('--confirm', error.reason);
        throw error;
      }
      config.warnings.forEach((w) => logger.warning(w));
      const color = wantColor(process.stderr);
      const report = await runRollback(config.rollback, {
        ...io,
        credentials: config.credentials,
        logger,
        secrets,
        progress: (e) => process.stderr.write(`${renderProgress(e, color)}\n`),
      });
      if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(renderRollback(report, { color: wantColor(process.stdout) }));
      if (!report.ok) process.exitCode = ExitCode.failed;
    });
}
