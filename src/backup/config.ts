import { InputError } from '../lib/errors.js';
import { assertIdentifier } from '../lib/identifiers.js';
import { inert } from '../lib/inert.js';
import { inputBoolean, inputDuration, inputOptional, inputString, type InputSource } from '../lib/inputs.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { InstallEtcdRequest } from '../etcd/install.js';
import { etcdReleaseInput } from '../etcd/release-input.js';

/**
 * Backup freshness (design.md section 6, `backup.yml`): the newest scheduled etcd snapshot in S3
 * and the newest Velero backup must both be younger than the RPO, the Velero one `Completed`.
 * Input names are shared by a future action.yml, the CLI and the tests.
 */
export const BackupInputs = {
  cluster: 'cluster',
  rpo: 'rpo',
  endpoint: 's3-endpoint',
  insecure: 's3-insecure',
  region: 's3-region',
  accessKey: 's3-access-key',
  secretKey: 's3-secret-key',
  etcdBucket: 'etcd-s3-bucket',
  etcdFolder: 'etcd-s3-folder',
  etcdSnapshotName: 'etcd-snapshot-name',
  veleroBucket: 'velero-bucket',
  veleroPrefix: 'velero-prefix',
  veleroSchedule: 'velero-schedule',
  checkVelero: 'check-velero',
  failOnBreach: 'fail-on-breach',
  restoreDrill: 'restore-drill',
  etcdVersion: 'etcd-version',
  etcdDownloadBaseUrl: 'etcd-download-base-url',
} as const;

/** How to reach the object stores: RKE2's way of naming an endpoint (src/s3 S3Location). */
export interface BackupS3 {
  /** host[:port], no scheme (`etcd-s3-endpoint`); AWS S3's regional endpoint when not given. */
  endpoint: string;
  /** Plain HTTP (`etcd-s3-insecure`). */
  insecure: boolean;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BackupFreshnessConfig {
  cluster: string;
  rpoSeconds: number;
  /** Fail the step on a breach (the report and outputs are written first either way). */
  failOnBreach: boolean;
  s3: BackupS3;
  etcd: {
    bucket: string;
    /** `etcd-s3-folder` of the masters' config ('' for none). */
    folder: string;
    /** `etcd-snapshot-name`: the scheduled snapshots' base name (RKE2 default `etcd-snapshot`). */
    name: string;
  };
  /** Null when Velero is not checked. */
  velero: {
    bucket: string;
    /** The BackupStorageLocation's `objectStorage.prefix` ('' for none). */
    prefix: string;
    /** Only backups of this Schedule count (label velero.io/schedule-name); all when unset. */
    schedule?: string;
  } | null;
  /**
   * The restore drill of the newest scheduled snapshot on the runner (download, `etcdutl
   * snapshot status`, trial restore, restored data read back): which etcd tools to install for
   * it. Null when no drill is asked for.
   */
  restoreDrill: { etcd: InstallEtcdRequest } | null;
}

/** RKE2's own default for `etcd-snapshot-name`. */
export const DEFAULT_SNAPSHOT_NAME = 'etcd-snapshot';
/** The module's default: a snapshot every 6 hours, so 7 hours is one missed run plus slack. */
export const DEFAULT_RPO_SECONDS = 7 * 3600;

function folder(get: InputSource, name: string): string {
  const value = (inputOptional(get, name) ?? '').replace(/^\/+|\/+$/g, '');
  if (value && !/^[A-Za-z0-9._/-]{1,200}$/.test(value))
    throw new InputError(name, `${inert(value)} is not an S3 folder (letters, digits, . _ - /)`);
  if (value.split('/').includes('..')) throw new InputError(name, 'must not contain ".."');
  return value;
}

function bucket(get: InputSource, name: string, fallback?: string): string {
  const value = inputString(get, name, fallback);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value))
    throw new InputError(name, `${inert(value)} is not an S3 bucket name`);
  return value;
}

/**
 * The endpoint as the masters' `etcd-s3-endpoint` has it (`host[:port]`, https unless
 * `etcd-s3-insecure`), or an http(s) URL of a host; AWS S3's regional endpoint when empty.
 */
function endpointOf(
  value: string | undefined,
  insecure: boolean,
  region: string,
): Pick<BackupS3, 'endpoint' | 'insecure'> {
  if (!value) return { endpoint: `s3.${region}.amazonaws.com`, insecure: false };
  const url = /^(https?):\/\/([A-Za-z0-9.-]+(?::\d{1,5})?)\/?$/.exec(value);
  if (url) return { endpoint: url[2]!, insecure: url[1] === 'http' };
  if (/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value)) return { endpoint: value, insecure };
  throw new InputError(
    BackupInputs.endpoint,
    `${inert(value)} is not host[:port] or an http(s) URL of a host`,
  );
}

/** Parses and validates the inputs; registers the S3 secret key the moment it is read. */
export function parseBackupConfig(get: InputSource, secrets?: SecretRegistry): BackupFreshnessConfig {
  const secretAccessKey = inputString(get, BackupInputs.secretKey);
  secrets?.add(secretAccessKey);
  const accessKeyId = inputString(get, BackupInputs.accessKey);
  const region = inputString(get, BackupInputs.region, 'us-east-1');
  if (!/^[a-z0-9-]+$/.test(region))
    throw new InputError(BackupInputs.region, `${inert(region)} is not a region`);
  const endpoint = endpointOf(
    inputOptional(get, BackupInputs.endpoint),
    inputBoolean(get, BackupInputs.insecure, false),
    region,
  );
  const checkVelero = inputBoolean(get, BackupInputs.checkVelero, true);
  const schedule = inputOptional(get, BackupInputs.veleroSchedule);
  const snapshotName = inputString(get, BackupInputs.etcdSnapshotName, DEFAULT_SNAPSHOT_NAME);
  return {
    cluster: assertIdentifier('clusterName', BackupInputs.cluster, inputString(get, BackupInputs.cluster)),
    rpoSeconds: inputDuration(get, BackupInputs.rpo, DEFAULT_RPO_SECONDS),
    failOnBreach: inputBoolean(get, BackupInputs.failOnBreach, true),
    s3: { ...endpoint, region, accessKeyId, secretAccessKey },
    etcd: {
      bucket: bucket(get, BackupInputs.etcdBucket),
      folder: folder(get, BackupInputs.etcdFolder),
      name: assertIdentifier('snapshotName', BackupInputs.etcdSnapshotName, snapshotName),
    },
    velero: checkVelero
      ? {
          bucket: bucket(get, BackupInputs.veleroBucket, 'velero'),
          prefix: folder(get, BackupInputs.veleroPrefix),
          ...(schedule
            ? { schedule: assertIdentifier('objectName', BackupInputs.veleroSchedule, schedule) }
            : {}),
        }
      : null,
    restoreDrill: inputBoolean(get, BackupInputs.restoreDrill, false)
      ? {
          etcd: etcdReleaseInput(get, {
            version: BackupInputs.etcdVersion,
            baseUrl: BackupInputs.etcdDownloadBaseUrl,
          }),
        }
      : null,
  };
}
