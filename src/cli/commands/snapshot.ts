import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { inert, inertText } from '../../lib/inert.js';
import { readSnapshotConfig, SnapshotInputs, type SnapshotMode } from '../../snapshot/config.js';
import { defaultSnapshotIo, type SnapshotIo } from '../../snapshot/deps.js';
import { runSnapshot } from '../../snapshot/run.js';
import { renderSnapshot } from '../render-snapshot.js';
import { wantColor } from '../render-health.js';
import { ExitCode } from '../exit-codes.js';

interface SnapshotFlags {
  inventory?: string;
  sshKey?: string;
  knownHosts?: string;
  insecureSkipHostKeyVerification?: boolean;
  master?: string;
  kind?: string;
  prefix?: string;
  level?: string;
  retention?: string;
  velero?: string;
  veleroAllowPartiallyFailed?: boolean;
  etcdVersion?: string;
  etcdDownloadBaseUrl?: string;
  snapshotDir?: string;
  timeout?: string;
  connectTimeout?: string;
  fail: boolean;
  json?: boolean;
  reportFile?: string;
  verbose?: boolean;
  debug?: boolean;
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

/** The flag (or environment variable) that carries each input, so errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  [SnapshotInputs.inventoryFile]: '--inventory',
  [SnapshotInputs.sshKey]: '--ssh-key',
  [SnapshotInputs.sshKeyPassphrase]: '$RKE2OPS_SSH_KEY_PASSPHRASE',
  [SnapshotInputs.knownHosts]: '--known-hosts',
  [SnapshotInputs.master]: '--master',
  [SnapshotInputs.kind]: '--kind',
  [SnapshotInputs.prefix]: '--prefix',
  [SnapshotInputs.snapshot]: '<snapshot>',
  [SnapshotInputs.verifyLevel]: '--level',
  [SnapshotInputs.s3AccessKey]: '$RKE2OPS_S3_ACCESS_KEY',
  [SnapshotInputs.s3SecretKey]: '$RKE2OPS_S3_SECRET_KEY',
  [SnapshotInputs.retention]: '--retention',
  [SnapshotInputs.velero]: '--velero',
  [SnapshotInputs.etcdVersion]: '--etcd-version',
  [SnapshotInputs.etcdDownloadBaseUrl]: '--etcd-download-base-url',
  [SnapshotInputs.snapshotDir]: '--snapshot-dir',
  [SnapshotInputs.timeout]: '--timeout',
  [SnapshotInputs.connectTimeout]: '--connect-timeout',
};

async function withFlagNames<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const input = Object.keys(FLAG_OF).find(
      (i) => error.field === i || error.field.startsWith(`${i}.`) || error.field.startsWith(`${i}[`),
    );
    if (!input) throw error;
    const flag = FLAG_OF[input]!;
    throw new InputError(error.field === input ? flag : `${flag} (${error.field})`, error.reason);
  }
}

/**
 * `rke2-ops snapshot [save] | verify [snapshot] | list`: the snapshot action from a laptop (so a
 * rollback target can be made and checked when GitHub is down). Flags map onto the action's
 * inputs and go through the same configuration layer (src/snapshot/config.ts). Secrets come from
 * the environment, never from flags (which land in shell history and process listings):
 * $RKE2OPS_SSH_KEY (or --ssh-key <file>), $RKE2OPS_SSH_KEY_PASSPHRASE, $RKE2OPS_S3_ACCESS_KEY /
 * $RKE2OPS_S3_SECRET_KEY (or $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY). etcd's tools for the
 * restore level are cached under ~/.cache/rke2-ops/tool-cache ($RKE2OPS_TOOL_CACHE).
 */
export function registerSnapshot(program: Command, io: SnapshotIo = defaultSnapshotIo): void {
  const snapshot = program
    .command('snapshot')
    .description('take a verified etcd snapshot (save), re-verify one (verify) or list them (list)');
  const common = (cmd: Command) =>
    cmd
      .requiredOption('-i, --inventory <file>', 'inventory JSON file')
      .option('-k, --ssh-key <file>', 'SSH private key file (default: $RKE2OPS_SSH_KEY holds the key itself)')
      .option('--known-hosts <file>', 'known_hosts file for masters without pinned host keys')
      .option('--insecure-skip-host-key-verification', 'do not verify host keys (dangerous)')
      .option('--master <name>', 'the master to work on (default: masters[0])')
      .option('--snapshot-dir <path>', "the masters' etcd-snapshot-dir when customised")
      .option('--timeout <duration>', 'overall time budget: 300, 90s, 10m (default 30m)')
      .option('--connect-timeout <duration>', 'SSH handshake limit (default 20)')
      .option('--json', 'print the JSON report on stdout instead of the table')
      .option('--report-file <path>', 'also write the JSON report to this file')
      .option('-v, --verbose', 'print progress on stderr')
      .option('--debug', 'print debug output');
  const levels = (cmd: Command) =>
    cmd
      .option('--level <level>', 'local, s3 (default) or restore (a trial restore here)')
      .option('--etcd-version <version>', 'etcd release for the restore level (default 3.6.16)')
      .option('--etcd-download-base-url <url>', 'where etcd releases are downloaded from')
      .option('--no-fail', 'exit 0 even when the snapshot is not verified');

  const run = async (mode: SnapshotMode, flags: SnapshotFlags, ref?: string) => {
    const logger = consoleLogger({ debug: flags.debug, verbose: Boolean(flags.verbose || flags.debug) });
    const secrets = new SecretRegistry();
    const env = process.env;
    const values: Record<string, string> = {
      [SnapshotInputs.mode]: mode,
      [SnapshotInputs.inventoryFile]: flags.inventory ?? '',
      [SnapshotInputs.sshKey]: flags.sshKey
        ? await readFlagFile('--ssh-key', flags.sshKey)
        : (env.RKE2OPS_SSH_KEY ?? ''),
      [SnapshotInputs.sshKeyPassphrase]: env.RKE2OPS_SSH_KEY_PASSPHRASE ?? '',
      [SnapshotInputs.knownHosts]: flags.knownHosts
        ? await readFlagFile('--known-hosts', flags.knownHosts)
        : '',
      [SnapshotInputs.insecureSkip]: flags.insecureSkipHostKeyVerification ? 'true' : '',
      [SnapshotInputs.s3AccessKey]: env.RKE2OPS_S3_ACCESS_KEY ?? env.AWS_ACCESS_KEY_ID ?? '',
      [SnapshotInputs.s3SecretKey]: env.RKE2OPS_S3_SECRET_KEY ?? env.AWS_SECRET_ACCESS_KEY ?? '',
      [SnapshotInputs.master]: flags.master ?? '',
      [SnapshotInputs.kind]: flags.kind ?? '',
      [SnapshotInputs.prefix]: flags.prefix ?? '',
      [SnapshotInputs.snapshot]: ref ?? '',
      [SnapshotInputs.verifyLevel]: flags.level ?? '',
      [SnapshotInputs.retention]: flags.retention ?? '',
      [SnapshotInputs.velero]: flags.velero ?? '',
      [SnapshotInputs.veleroAllowPartiallyFailed]: flags.veleroAllowPartiallyFailed ? 'true' : '',
      [SnapshotInputs.etcdVersion]: flags.etcdVersion ?? '',
      [SnapshotInputs.etcdDownloadBaseUrl]: flags.etcdDownloadBaseUrl ?? '',
      [SnapshotInputs.snapshotDir]: flags.snapshotDir ?? '',
      [SnapshotInputs.timeout]: flags.timeout ?? '',
      [SnapshotInputs.connectTimeout]: flags.connectTimeout ?? '',
    };
    const config = await withFlagNames(() => readSnapshotConfig((name) => values[name] ?? '', secrets));
    config.warnings.forEach((w) => logger.warning(w));
    const report = await runSnapshot(config.snapshot, {
      ...io,
      credentials: config.credentials,
      logger,
      secrets,
    });
    if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
    if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else
      process.stdout.write(
        renderSnapshot(report, { color: wantColor(process.stdout), width: process.stdout.columns }),
      );
    const failed = mode === 'list' ? Boolean(report.failure) : !report.verified;
    if (failed && flags.fail !== false) process.exitCode = ExitCode.failed;
  };

  levels(
    common(
      snapshot.command('save', { isDefault: true }).description('take a snapshot on a master and verify it'),
    ),
  )
    .option('--kind <kind>', 'pre-upgrade (default: becomes the rollback target when verified) or on-demand')
    .option('--prefix <prefix>', 'name prefix (default: the kind); retention stays inside it')
    .option(
      '--retention <n>',
      'snapshots of this prefix to keep, the new one included (default 5; 0 keeps all)',
    )
    .option('--velero <auto|true|false>', "a Velero backup from the inventory's schedule (default auto)")
    .option('--velero-allow-partially-failed', 'let a PartiallyFailed Velero backup pass')
    .action((flags: SnapshotFlags) => run('save', flags));
  levels(
    common(
      snapshot
        .command('verify')
        .argument('[snapshot]', 'file name, or latest-pre-upgrade (default)')
        .description('re-verify an existing snapshot against its metadata (changes nothing)'),
    ),
  ).action((ref: string | undefined, flags: SnapshotFlags) => run('verify', flags, ref));
  common(
    snapshot
      .command('list')
      .description('every snapshot on the masters and in S3; the rollback target starred'),
  )
    .option('--no-fail', 'exit 0 even when the listing failed')
    .action((flags: SnapshotFlags) => run('list', flags));
  snapshot.addHelpText(
    'after',
    '\nExit codes: 0 verified (list: listed), 1 not verified, 2 bad input (nothing was contacted).',
  );
}
