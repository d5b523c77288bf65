import { InputError } from '../lib/errors.js';
import { assertAbsolutePath, assertIdentifier, patterns } from '../lib/identifiers.js';
import {
  inputBoolean,
  inputChoice,
  inputDuration,
  inputInteger,
  inputOptional,
  inputString,
  type InputSource,
} from '../lib/inputs.js';
import { inert } from '../lib/inert.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { loadInventoryFile, parseInventory, type LoadedInventory } from '../inventory/load.js';
import { targetsFromInventory, type ClusterTarget } from '../inventory/targets.js';
import type { Inventory } from '../inventory/schema.js';
import { checkPrivateKey } from '../ssh/keys.js';
import type { SshCredentials } from '../ssh/types.js';
import { rke2Paths, type Rke2Paths } from '../rke2/paths.js';
import { locationFromInventory, type S3Settings } from '../s3/settings.js';
import { etcdReleaseInput } from '../etcd/release-input.js';

/**
 * The snapshot capability's configuration: named inputs (the action's `with:`, the CLI's flags
 * mapped onto the same names) -> a typed, validated config. Everything is checked before any
 * node is contacted: a bad inventory, a level that needs S3 without S3, a name with shell or
 * path characters, an unusable SSH key - each an InputError naming the input.
 *
 * S3 credentials: the inventory says WHERE the snapshots are (`etcd_s3`: endpoint, bucket,
 * folder, region, insecure - never a key); the keys come as the secret inputs `s3-access-key`
 * and `s3-secret-key` (the CLI: $RKE2OPS_S3_ACCESS_KEY / $RKE2OPS_S3_SECRET_KEY, or
 * $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY), registered as secrets the moment they are read.
 */
export const SnapshotInputs = {
  mode: 'mode',
  inventory: 'inventory',
  inventoryFile: 'inventory-file',
  sshKey: 'ssh-key',
  sshKeyPassphrase: 'ssh-key-passphrase',
  knownHosts: 'known-hosts',
  insecureSkip: 'insecure-skip-host-key-verification',
  master: 'master',
  kind: 'kind',
  prefix: 'prefix',
  snapshot: 'snapshot',
  verifyLevel: 'verify-level',
  s3AccessKey: 's3-access-key',
  s3SecretKey: 's3-secret-key',
  retention: 'retention',
  velero: 'velero',
  veleroAllowPartiallyFailed: 'velero-allow-partially-failed',
  etcdVersion: 'etcd-version',
  etcdDownloadBaseUrl: 'etcd-download-base-url',
  snapshotDir: 'snapshot-dir',
  timeout: 'timeout',
  connectTimeout: 'connect-timeout',
  failOnUnverified: 'fail-on-unverified',
} as const;

export const MODES = ['save', 'verify', 'list'] as const;
export type SnapshotMode = (typeof MODES)[number];
export const VERIFY_LEVELS = ['local', 's3', 'restore'] as const;
export type VerifyLevel = (typeof VERIFY_LEVELS)[number];
export const KINDS = ['pre-upgrade', 'on-demand'] as const;
export type SnapshotKind = (typeof KINDS)[number];
/** `snapshot` input value that resolves the rollback target (marker, else newest verified in S3). */
export const LATEST_PRE_UPGRADE = 'latest-pre-upgrade';

export const DEFAULTS = {
  retention: 5,
  timeoutSeconds: 30 * 60,
  connectTimeoutSeconds: 20,
} as const;

export interface SnapshotConfig {
  mode: SnapshotMode;
  cluster: string;
  inventory: Inventory;
  /** The master that saves (or holds) the snapshot: `master`, else masters[0]. */
  master: ClusterTarget;
  masters: ClusterTarget[];
  paths: Rke2Paths;
  kind: SnapshotKind;
  /** Name prefix of this toolkit's snapshots (retention stays inside it). */
  prefix: string;
  /** verify mode: a file name or `latest-pre-upgrade`. */
  snapshot: string;
  level: VerifyLevel;
  /** S3 settings with credentials; null when the inventory has no etcd_s3. */
  s3: S3Settings | null;
  /** Snapshots of this prefix to keep (the new one included); 0 keeps all. */
  retention: number;
  velero: { namespace: string; schedule: string; allowPartiallyFailed: boolean } | null;
  etcd: { version: string; baseUrl: string };
  timeoutSeconds: number;
  connectTimeoutSeconds: number;
  failOnUnverified: boolean;
}

export interface SnapshotRunConfig {
  snapshot: SnapshotConfig;
  credentials: SshCredentials;
  warnings: string[];
}

const LEVEL_RANK: Record<VerifyLevel, number> = { local: 0, s3: 1, restore: 2 };
export const levelAtLeast = (level: VerifyLevel, wanted: VerifyLevel) =>
  LEVEL_RANK[level] >= LEVEL_RANK[wanted];

async function loadInventory(get: InputSource): Promise<LoadedInventory> {
  const text = inputOptional(get, SnapshotInputs.inventory);
  const file = inputOptional(get, SnapshotInputs.inventoryFile);
  if (!text && !file)
    throw new InputError(SnapshotInputs.inventory, 'give `inventory` (JSON) or `inventory-file`');
  if (text && file)
    throw new InputError(SnapshotInputs.inventory, 'give either `inventory` or `inventory-file`, not both');
  return text
    ? parseInventory(text, SnapshotInputs.inventory)
    : loadInventoryFile(file!, SnapshotInputs.inventoryFile);
}

export async function readSnapshotConfig(
  get: InputSource,
  secrets: SecretRegistry,
): Promise<SnapshotRunConfig> {
  const privateKey = inputString(get, SnapshotInputs.sshKey);
  secrets.add(privateKey);
  const passphrase = inputOptional(get, SnapshotInputs.sshKeyPassphrase);
  secrets.add(passphrase);
  const accessKey = inputOptional(get, SnapshotInputs.s3AccessKey);
  const secretKey = inputOptional(get, SnapshotInputs.s3SecretKey);
  secrets.add(secretKey);
  secrets.add(accessKey);
  checkPrivateKey(privateKey, passphrase, {
    key: SnapshotInputs.sshKey,
    passphrase: SnapshotInputs.sshKeyPassphrase,
  });

  const mode = inputChoice(get, SnapshotInputs.mode, MODES, 'save');
  const loaded = await loadInventory(get);
  const inv = loaded.inventory;
  const warnings = [...loaded.warnings];
  const insecure = inputBoolean(get, SnapshotInputs.insecureSkip, false);
  if (insecure) warnings.push('insecure-skip-host-key-verification is on: host keys are NOT verified');
  const knownHosts = inputOptional(get, SnapshotInputs.knownHosts);
  const targets = targetsFromInventory(inv, {
    ...(knownHosts ? { knownHosts } : {}),
    insecureSkipHostKeyVerification: insecure,
  });
  const masters = targets.filter((t) => t.role === 'master');
  const masterName = inputOptional(get, SnapshotInputs.master);
  const master = masterName ? masters.find((m) => m.name === masterName) : masters[0];
  if (!master)
    throw new InputError(
      SnapshotInputs.master,
      `${inert(masterName)} is not a master of ${inv.cluster} (masters: ${masters.map((m) => m.name).join(', ')})`,
    );
  // list mode reads every master; the others one.
  const contacted = mode === 'list' ? masters : [master];
  const unpinned = contacted.filter((m) => !insecure && m.hostKeys.length === 0).map((m) => m.name);
  if (unpinned.length)
    throw new InputError(
      SnapshotInputs.knownHosts,
      `no host key for ${unpinned.join(', ')}: give host_keys in the inventory or a known-hosts entry ` +
        '(or, knowingly, insecure-skip-host-key-verification)',
    );

  const kind = inputChoice(get, SnapshotInputs.kind, KINDS, 'pre-upgrade');
  const prefix = inputString(get, SnapshotInputs.prefix, kind);
  // The prefix becomes part of a file name, a Velero Backup name and a retention pattern.
  if (!/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/.test(prefix))
    throw new InputError(
      SnapshotInputs.prefix,
      `${inert(prefix)}: lowercase letters, digits and "-", at most 40 characters (it names files and a Velero Backup)`,
    );
  const snapshot = inputString(get, SnapshotInputs.snapshot, LATEST_PRE_UPGRADE);
  if (snapshot !== LATEST_PRE_UPGRADE) assertIdentifier('snapshotName', SnapshotInputs.snapshot, snapshot);
  if (snapshot.includes('/')) throw new InputError(SnapshotInputs.snapshot, 'a file name, not a path');

  const level = inputChoice(get, SnapshotInputs.verifyLevel, VERIFY_LEVELS, 's3');
  const location = locationFromInventory(inv);
  let s3: S3Settings | null = null;
  if (location) {
    if (!accessKey || !secretKey) {
      if (levelAtLeast(level, 's3') && mode !== 'list')
        throw new InputError(
          accessKey ? SnapshotInputs.s3SecretKey : SnapshotInputs.s3AccessKey,
          `is required: the inventory has etcd_s3 (${location.bucket} at ${location.endpoint}) and verify-level ${level} reads the S3 copy`,
        );
      warnings.push(
        `no S3 credentials (s3-access-key, s3-secret-key): ${mode === 'list' ? 'S3 is not listed' : 'the metadata is written on the master only'}`,
      );
    } else s3 = { ...location, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } };
  } else if (levelAtLeast(level, 's3')) {
    throw new InputError(
      SnapshotInputs.verifyLevel,
      `${level} needs the snapshots in S3, but the inventory has no etcd_s3 (use verify-level local, or enable etcd backups to S3)`,
    );
  }
  const veleroWanted = inputChoice(get, SnapshotInputs.velero, ['auto', 'true', 'false'] as const, 'auto');
  if (veleroWanted === 'true' && !inv.velero)
    throw new InputError(
      SnapshotInputs.velero,
      'is true but the inventory has no velero block (namespace, schedule)',
    );
  const velero =
    inv.velero && veleroWanted !== 'false' && mode === 'save'
      ? {
          namespace: inv.velero.namespace,
          schedule: inv.velero.schedule,
          allowPartiallyFailed: inputBoolean(get, SnapshotInputs.veleroAllowPartiallyFailed, false),
        }
      : null;

  const etcd = etcdReleaseInput(get, {
    version: SnapshotInputs.etcdVersion,
    baseUrl: SnapshotInputs.etcdDownloadBaseUrl,
  });
  const snapshotDir = inputOptional(get, SnapshotInputs.snapshotDir);
  if (snapshotDir) assertAbsolutePath(SnapshotInputs.snapshotDir, snapshotDir);

  return {
    snapshot: {
      mode,
      cluster: inv.cluster,
      inventory: inv,
      master,
      masters,
      paths: rke2Paths(inv.rke2.data_dir, snapshotDir),
      kind,
      prefix,
      snapshot,
      level,
      s3,
      retention: inputInteger(get, SnapshotInputs.retention, DEFAULTS.retention, { min: 0, max: 1000 }),
      velero,
      etcd,
      timeoutSeconds: inputDuration(get, SnapshotInputs.timeout, DEFAULTS.timeoutSeconds),
      connectTimeoutSeconds: inputDuration(
        get,
        SnapshotInputs.connectTimeout,
        DEFAULTS.connectTimeoutSeconds,
      ),
      failOnUnverified: inputBoolean(get, SnapshotInputs.failOnUnverified, true),
    },
    credentials: { privateKey, ...(passphrase ? { passphrase } : {}) },
    warnings,
  };
}

/** The Velero Backup name for a snapshot base name (DNS-1123: lowercase). */
export function veleroBackupName(baseName: string): string {
  const name = baseName.toLowerCase();
  if (!patterns.objectName.test(name))
    throw new InputError('velero backup name', `${inert(name)} is not a DNS-1123 name`);
  return name;
}
