import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { inertText } from '../../lib/inert.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { systemClock } from '../../lib/clock.js';
import { BackupInputs, parseBackupConfig } from '../../backup/config.js';
import { checkBackupFreshness } from '../../backup/freshness.js';
import { s3ObjectStore } from '../../backup/objects.js';
import { ExitCode } from '../exit-codes.js';
import { localToolCache } from '../../lib/local-tool-cache.js';
import { consoleLogger } from '../../lib/logger.js';

interface BackupFlags {
  cluster: string;
  rpo?: string;
  s3Endpoint?: string;
  s3Insecure?: boolean;
  s3Region?: string;
  etcdBucket: string;
  etcdFolder?: string;
  snapshotName?: string;
  velero: boolean;
  veleroBucket?: string;
  veleroPrefix?: string;
  veleroSchedule?: string;
  restoreDrill?: boolean;
  etcdVersion?: string;
  etcdDownloadBaseUrl?: string;
  json?: boolean;
  reportFile?: string;
}

/** The flag that carries each input, so errors name what the CLI user typed. */
const FLAG_OF: Record<string, string> = {
  [BackupInputs.cluster]: '--cluster',
  [BackupInputs.rpo]: '--rpo',
  [BackupInputs.endpoint]: '--s3-endpoint',
  [BackupInputs.region]: '--s3-region',
  [BackupInputs.accessKey]: '$AWS_ACCESS_KEY_ID',
  [BackupInputs.secretKey]: '$AWS_SECRET_ACCESS_KEY',
  [BackupInputs.etcdBucket]: '--etcd-bucket',
  [BackupInputs.etcdFolder]: '--etcd-folder',
  [BackupInputs.etcdSnapshotName]: '--snapshot-name',
  [BackupInputs.veleroBucket]: '--velero-bucket',
  [BackupInputs.veleroPrefix]: '--velero-prefix',
  [BackupInputs.veleroSchedule]: '--velero-schedule',
  [BackupInputs.etcdVersion]: '--etcd-version',
  [BackupInputs.etcdDownloadBaseUrl]: '--etcd-download-base-url',
};

/**
 * `rke2-ops backup-freshness`: the backup-freshness action's core from a laptop - are the newest
 * scheduled etcd snapshot and the newest Velero backup younger than the RPO? S3 keys come from
 * $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY, never flags (flags show in process listings).
 * Exit codes: 0 fresh, 1 a breach (or a store that cannot be read), 2 bad input.
 */
export function registerBackup(program: Command): void {
  program
    .command('backup-freshness')
    .description('are the newest etcd snapshot in S3 and the newest Velero backup younger than the RPO?')
    .requiredOption('--cluster <name>', 'cluster name (names the report)')
    .requiredOption('--etcd-bucket <bucket>', "the masters' etcd-s3-bucket")
    .option('--etcd-folder <folder>', "the masters' etcd-s3-folder")
    .option('--snapshot-name <name>', "the masters' etcd-snapshot-name (default etcd-snapshot)")
    .option('--rpo <duration>', 'recovery point objective, e.g. 7h (default 7h)')
    .option('--s3-endpoint <host[:port]|url>', "the masters' etcd-s3-endpoint (default AWS S3)")
    .option('--s3-insecure', 'plain http to a host[:port] endpoint')
    .option('--s3-region <region>', 'S3 region (default us-east-1)')
    .option('--no-velero', 'do not check Velero')
    .option('--velero-bucket <bucket>', "Velero's bucket (default velero)")
    .option('--velero-prefix <prefix>', "the BackupStorageLocation's prefix")
    .option('--velero-schedule <name>', 'only backups of this Velero Schedule count')
    .option(
      '--restore-drill',
      'also restore the newest scheduled snapshot here (etcdutl; nothing touches the cluster)',
    )
    .option('--etcd-version <version>', 'etcd release the drill installs (default 3.6.16)')
    .option('--etcd-download-base-url <url>', 'where etcd releases are downloaded from (default GitHub)')
    .option('--json', 'print the JSON report on stdout')
    .option('--report-file <path>', 'also write the JSON report to this file')
    .addHelpText('after', '\nExit codes: 0 fresh, 1 RPO breached or a store unreadable, 2 bad input.')
    .action(async (flags: BackupFlags) => {
      const secrets = new SecretRegistry();
      const values: Record<string, string> = {
        [BackupInputs.cluster]: flags.cluster,
        [BackupInputs.rpo]: flags.rpo ?? '',
        [BackupInputs.endpoint]: flags.s3Endpoint ?? '',
        [BackupInputs.insecure]: flags.s3Insecure ? 'true' : '',
        [BackupInputs.region]: flags.s3Region ?? process.env.AWS_REGION ?? '',
        [BackupInputs.accessKey]: process.env.AWS_ACCESS_KEY_ID ?? '',
        [BackupInputs.secretKey]: process.env.AWS_SECRET_ACCESS_KEY ?? '',
        [BackupInputs.etcdBucket]: flags.etcdBucket,
        [BackupInputs.etcdFolder]: flags.etcdFolder ?? '',
        [BackupInputs.etcdSnapshotName]: flags.snapshotName ?? '',
        [BackupInputs.checkVelero]: flags.velero ? 'true' : 'false',
        [BackupInputs.veleroBucket]: flags.veleroBucket ?? '',
        [BackupInputs.veleroPrefix]: flags.veleroPrefix ?? '',
        [BackupInputs.veleroSchedule]: flags.veleroSchedule ?? '',
        [BackupInputs.restoreDrill]: flags.restoreDrill ? 'true' : 'false',
        [BackupInputs.etcdVersion]: flags.etcdVersion ?? '',
        [BackupInputs.etcdDownloadBaseUrl]: flags.etcdDownloadBaseUrl ?? '',
      };
      let config;
      try {
        config = parseBackupConfig((name) => values[name] ?? '', secrets);
      } catch (error) {
        const flag = error instanceof InputError ? FLAG_OF[error.field] : undefined;
        throw flag && error instanceof InputError ? new InputError(flag, error.reason) : error;
      }
      const store = s3ObjectStore(config.s3, secrets);
      const report = await checkBackupFreshness(config, {
        store,
        clock: systemClock,
        secrets,
        toolCache: localToolCache(),
        logger: consoleLogger(),
      }).finally(() => store.close());
      if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else
        process.stdout.write(
          [
            ...report.checks.map(
              (c) => `${c.status === 'pass' ? 'PASS' : 'FAIL'} ${c.name}: ${inertText(c.message)}`,
            ),
            inertText(report.verdict),
            '',
          ].join('\n'),
        );
      if (!report.ok) process.exitCode = ExitCode.failed;
    });
}
