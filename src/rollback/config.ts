import { InputError } from '../lib/errors.js';
import { assertAbsolutePath, assertIdentifier } from '../lib/identifiers.js';
import {
  inputBoolean,
  inputDuration,
  inputList,
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

/**
 * The rollback's configuration: named inputs (the action's `with:`, the CLI's flags mapped onto
 * the same names) -> a typed, validated config. Everything is checked before any node is
 * contacted (design.md §5): an inventory without host keys, a worker to skip that does not
 * exist, a namespace with shell characters - each an InputError naming the input. `confirm` is
 * checked here too: a destructive run whose confirm is not the cluster's name never connects.
 */
export const RollbackInputs = {
  inventory: 'inventory',
  inventoryFile: 'inventory-file',
  sshKey: 'ssh-key',
  sshKeyPassphrase: 'ssh-key-passphrase',
  knownHosts: 'known-hosts',
  insecureSkip: 'insecure-skip-host-key-verification',
  snapshot: 'snapshot',
  confirm: 'confirm',
  dryRun: 'dry-run',
  s3AccessKey: 's3-access-key',
  s3SecretKey: 's3-secret-key',
  installCommand: 'install-command',
  veleroNamespaces: 'velero-namespaces',
  veleroBackup: 'velero-backup',
  skipNodes: 'skip-nodes',
  snapshotDir: 'snapshot-dir',
  resume: 'resume',
  stopTimeout: 'stop-timeout',
  installTimeout: 'install-timeout',
  resetTimeout: 'reset-timeout',
  startTimeout: 'start-timeout',
  joinTimeout: 'join-timeout',
  workersTimeout: 'workers-timeout',
  veleroTimeout: 'velero-timeout',
  healthTimeout: 'health-timeout',
  connectTimeout: 'connect-timeout',
  lockStale: 'lock-stale',
} as const;

export const LATEST_PRE_UPGRADE = 'latest-pre-upgrade';
/** What a real node runs to install a version (rke2-facts.md §3.1); the lab names its own. */
export const DEFAULT_INSTALL_COMMAND = 'curl -sfL https://get.rke2.io | sh -';

/** Per-phase limits in seconds. A node that does not get there in time is reported, never waited on forever. */
export interface RollbackTimeouts {
  stop: number;
  install: number;
  reset: number;
  /** master-0's start until its API answers. */
  start: number;
  /** Each other master's join (member + Node Ready). */
  join: number;
  workers: number;
  velero: number;
  health: number;
}

export const DEFAULT_TIMEOUTS: RollbackTimeouts = {
  stop: 120,
  install: 600,
  reset: 600,
  start: 600,
  join: 600,
  workers: 600,
  velero: 1800,
  health: 600,
};

export interface RollbackConfig {
  cluster: string;
  inventory: Inventory;
  /** Every node, masters first; masters[0] is the initial server. */
  nodes: ClusterTarget[];
  masters: ClusterTarget[];
  workers: ClusterTarget[];
  /** Workers left out on purpose (a lost node): never contacted, named in the report. */
  skipped: string[];
  paths: Rke2Paths;
  /** A snapshot file name, or `latest-pre-upgrade`. */
  snapshot: string;
  dryRun: boolean;
  s3: S3Settings | null;
  installCommand: string;
  velero: { namespace: string; namespaces: string[]; backup: string | null } | null;
  resume: boolean;
  timeouts: RollbackTimeouts;
  connectTimeoutSeconds: number;
  /** A lock whose heartbeat is older than this is stale (its run died) and may be taken over. */
  lockStaleSeconds: number;
  kubeProxy: boolean;
}

export interface RollbackRunConfig {
  rollback: RollbackConfig;
  credentials: SshCredentials;
  warnings: string[];
}

async function loadInventory(get: InputSource): Promise<LoadedInventory> {
  const text = inputOptional(get, RollbackInputs.inventory);
  const file = inputOptional(get, RollbackInputs.inventoryFile);
  if (!text && !file)
    throw new InputError(RollbackInputs.inventory, 'give `inventory` (JSON) or `inventory-file`');
  if (text && file)
    throw new InputError(RollbackInputs.inventory, 'give either `inventory` or `inventory-file`, not both');
  return text
    ? parseInventory(text, RollbackInputs.inventory)
    : loadInventoryFile(file!, RollbackInputs.inventoryFile);
}

export async function readRollbackConfig(
  get: InputSource,
  secrets: SecretRegistry,
): Promise<RollbackRunConfig> {
  const privateKey = inputString(get, RollbackInputs.sshKey);
  secrets.add(privateKey);
  const passphrase = inputOptional(get, RollbackInputs.sshKeyPassphrase);
  secrets.add(passphrase);
  const accessKey = inputOptional(get, RollbackInputs.s3AccessKey);
  const secretKey = inputOptional(get, RollbackInputs.s3SecretKey);
  secrets.add(secretKey);
  secrets.add(accessKey);
  checkPrivateKey(privateKey, passphrase, {
    key: RollbackInputs.sshKey,
    passphrase: RollbackInputs.sshKeyPassphrase,
  });

  const loaded = await loadInventory(get);
  const inv = loaded.inventory;
  const warnings = [...loaded.warnings];
  const dryRun = inputBoolean(get, RollbackInputs.dryRun, false);
  const confirm = inputOptional(get, RollbackInputs.confirm);
  if (!dryRun && confirm !== inv.cluster)
    throw new InputError(
      RollbackInputs.confirm,
      `${confirm === undefined ? 'is empty' : `is ${inert(confirm)}`}: a rollback stops every node of ${inv.cluster} and replaces its etcd data; set confirm to the cluster's name (${inv.cluster}) to go ahead, or dry-run: true to see the plan`,
    );

  const insecure = inputBoolean(get, RollbackInputs.insecureSkip, false);
  if (insecure) warnings.push('insecure-skip-host-key-verification is on: host keys are NOT verified');
  const knownHosts = inputOptional(get, RollbackInputs.knownHosts);
  const all = targetsFromInventory(inv, {
    ...(knownHosts ? { knownHosts } : {}),
    insecureSkipHostKeyVerification: insecure,
  });
  const skipped = inputList(get, RollbackInputs.skipNodes);
  for (const s of skipped) {
    const node = all.find((n) => n.name === s);
    if (!node) throw new InputError(RollbackInputs.skipNodes, `${inert(s)} is not a node of ${inv.cluster}`);
    if (node.role === 'master')
      throw new InputError(
        RollbackInputs.skipNodes,
        `${s} is a master: every master takes part in an etcd restore (only workers can be skipped)`,
      );
  }
  const nodes = all.filter((n) => !skipped.includes(n.name));
  const unpinned = nodes.filter((m) => !insecure && m.hostKeys.length === 0).map((m) => m.name);
  if (unpinned.length)
    throw new InputError(
      RollbackInputs.knownHosts,
      `no host key for ${unpinned.join(', ')}: give host_keys in the inventory or a known-hosts entry ` +
        '(or, knowingly, insecure-skip-host-key-verification)',
    );

  const snapshot = inputString(get, RollbackInputs.snapshot, LATEST_PRE_UPGRADE);
  if (snapshot !== LATEST_PRE_UPGRADE) {
    assertIdentifier('snapshotName', RollbackInputs.snapshot, snapshot);
    if (snapshot.includes('/')) throw new InputError(RollbackInputs.snapshot, 'a file name, not a path');
  }
  const location = locationFromInventory(inv);
  let s3: S3Settings | null = null;
  if (location) {
    if (accessKey && secretKey)
      s3 = { ...location, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } };
    else
      warnings.push(
        'no S3 credentials (s3-access-key, s3-secret-key): the snapshot must be on master-0, and its metadata is read there',
      );
  }
  const installCommand = inputString(
    get,
    RollbackInputs.installCommand,
    inv.rke2.install_command ?? DEFAULT_INSTALL_COMMAND,
  ).trim();
  if (/[\r\n]/.test(installCommand)) throw new InputError(RollbackInputs.installCommand, 'must be one line');

  const namespaces = inputList(get, RollbackInputs.veleroNamespaces);
  namespaces.forEach((ns) => assertIdentifier('namespace', RollbackInputs.veleroNamespaces, ns));
  const veleroBackup = inputOptional(get, RollbackInputs.veleroBackup) ?? null;
  if (veleroBackup) assertIdentifier('objectName', RollbackInputs.veleroBackup, veleroBackup);
  if (namespaces.length && !inv.velero && !veleroBackup)
    throw new InputError(
      RollbackInputs.veleroNamespaces,
      'the inventory has no velero block: give velero-backup too, or leave velero-namespaces empty',
    );
  const snapshotDir = inputOptional(get, RollbackInputs.snapshotDir);
  if (snapshotDir) assertAbsolutePath(RollbackInputs.snapshotDir, snapshotDir);

  const d = (input: string, fallback: number) => inputDuration(get, input, fallback);
  return {
    rollback: {
      cluster: inv.cluster,
      inventory: inv,
      nodes,
      masters: nodes.filter((n) => n.role === 'master'),
      workers: nodes.filter((n) => n.role === 'worker'),
      skipped,
      paths: rke2Paths(inv.rke2.data_dir, snapshotDir),
      snapshot,
      dryRun,
      s3,
      installCommand,
      velero: namespaces.length
        ? { namespace: inv.velero?.namespace ?? 'velero', namespaces, backup: veleroBackup }
        : null,
      resume: inputBoolean(get, RollbackInputs.resume, true),
      timeouts: {
        stop: d(RollbackInputs.stopTimeout, DEFAULT_TIMEOUTS.stop),
        install: d(RollbackInputs.installTimeout, DEFAULT_TIMEOUTS.install),
        reset: d(RollbackInputs.resetTimeout, DEFAULT_TIMEOUTS.reset),
        start: d(RollbackInputs.startTimeout, DEFAULT_TIMEOUTS.start),
        join: d(RollbackInputs.joinTimeout, DEFAULT_TIMEOUTS.join),
        workers: d(RollbackInputs.workersTimeout, DEFAULT_TIMEOUTS.workers),
        velero: d(RollbackInputs.veleroTimeout, DEFAULT_TIMEOUTS.velero),
        health: d(RollbackInputs.healthTimeout, DEFAULT_TIMEOUTS.health),
      },
      connectTimeoutSeconds: d(RollbackInputs.connectTimeout, 20),
      lockStaleSeconds: d(RollbackInputs.lockStale, 60),
      kubeProxy: inv.rke2.kube_proxy,
    },
    credentials: { privateKey, ...(passphrase ? { passphrase } : {}) },
    warnings,
  };
}
