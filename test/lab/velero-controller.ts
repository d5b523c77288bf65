/**
 * SIMULATION of the Velero server for the lab (rke2-facts.md §5.1-§5.4, §9.10-§9.12): a small
 * process the lab starts (bundled, `node velero-lab-controller.mjs <lab dir>`) that drives the
 * velero.io objects of the REAL API through Velero's phases and keeps their data in the REAL
 * S3 server, in Velero's layout (`backups/<name>/<name>.tar.gz`, `velero-backup.json`,
 * `<name>-podvolumebackups.json.gz`; volume data under `kopia/<namespace>/`). Sources in
 * vmware-tanzu/velero are cited inline.
 *
 *  - BackupStorageLocation: status.phase Available/Unavailable from a real probe of the S3
 *    server with the BSL's own s3Url, bucket and credentials Secret, every
 *    timing.bslValidationSec (velero: 1 min), message `BackupStorageLocation "x" is unavailable:
 *    ...` (pkg/controller/backup_storage_location_controller.go).
 *  - Backup: FailedValidation on an unknown or Unavailable location (pkg/controller/
 *    backup_controller.go prepareBackupRequest), else InProgress -> Finalizing|
 *    FinalizingPartiallyFailed -> Completed|PartiallyFailed, or Failed (S3 error, or the result
 *    asked for by annotation `lab.rke2-ops.io/result` / setting `veleroResult`, which can also ask
 *    for FailedValidation). File-system
 *    backup (defaultVolumesToFsBackup or `backup.velero.io/backup-volumes`): a PodVolumeBackup
 *    per PVC volume of each pod; a pod whose node does not run fails its PodVolumeBackup
 *    ("daemonset pod not found in running state in node X") and the backup is PartiallyFailed.
 *  - Restore: FailedValidation for a missing backup; creates only what does not exist (an
 *    existing object is skipped with a warning - never overwritten); pods lose `nodeName`
 *    (pkg/restore/actions/pod_action.go) and are scheduled again; a fs-backed PVC is created
 *    without its old binding (pkg/restore/restore.go resetVolumeBindingInfo) so a NEW volume is
 *    provisioned, and only such a new PVC gets the backed-up data, through a PodVolumeRestore.
 *    An existing PVC keeps its (stale) data. Result setting: annotation or `veleroRestoreResult`.
 *  - Backup sync (timing.backupSyncSec; velero --backup-sync-period 1 min): Backup objects that
 *    are in the bucket but not in the cluster (e.g. after an etcd restore) are re-created with
 *    their stored status; Completed ones that are gone from the bucket are deleted
 *    (pkg/controller/backup_sync_controller.go).
 *  - Schedule: phase Enabled, or FailedValidation for a bad cron; runs its cron (UTC), naming
 *    backups `<schedule>-<YYYYMMDDhhmmss>`; the first run is the first cron time after the
 *    Schedule's creation (pkg/controller/schedule_controller.go getNextRunTime).
 * The same process runs the node lifecycle, namespace, scheduler, kubelet and volume
 * simulations (node-lifecycle.ts, namespace-controller.ts, cluster-controllers.ts).
 */
import { loadS3Sdk } from './aws-sdk.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { KubeClient, KubeError, authFromFiles } from './kube-client.js';
import { tarPack, tarUnpack } from './tar.js';
import { tickNodeLifecycle, nodeUnitRunning } from './node-lifecycle.js';
import { tickNamespaces } from './namespace-controller.js';
import { tickScheduler, tickKubelets, tickVolumes, type PodObj, type PvcObj } from './cluster-controllers.js';
import { readTiming } from './timing.js';
import { parseCron, scheduleBackupName } from './cron.js';
import { volumePath, listFiles, writeDir } from './volumes.js';
import type { LabState } from './state.js';

const dir = process.argv[2] ?? '';
const readState = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
let state = readState();
const pki = join(dir, 'pki');
const kube = new KubeClient(
  state.nodes.filter((n) => n.role === 'master').map((m) => `https://${m.address}:6443`),
  authFromFiles(join(pki, 'ca.crt'), join(pki, 'client-admin.crt'), join(pki, 'client-admin.key')),
  4000,
);
const NS = 'velero';
const V1 = `/apis/velero.io/v1/namespaces/${NS}`;
const RESULT_ANNOTATION = 'lab.rke2-ops.io/result';
const RESOURCES: { name: string; kind: string; path: (ns: string) => string; api: string }[] = [
  { name: 'configmaps', kind: 'ConfigMap', path: (ns) => `/api/v1/namespaces/${ns}/configmaps`, api: 'v1' },
  { name: 'secrets', kind: 'Secret', path: (ns) => `/api/v1/namespaces/${ns}/secrets`, api: 'v1' },
  {
    name: 'serviceaccounts',
    kind: 'ServiceAccount',
    path: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
    api: 'v1',
  },
  { name: 'services', kind: 'Service', path: (ns) => `/api/v1/namespaces/${ns}/services`, api: 'v1' },
  {
    name: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    path: (ns) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    api: 'v1',
  },
  {
    name: 'deployments.apps',
    kind: 'Deployment',
    path: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
    api: 'apps/v1',
  },
  {
    name: 'statefulsets.apps',
    kind: 'StatefulSet',
    path: (ns) => `/apis/apps/v1/namespaces/${ns}/statefulsets`,
    api: 'apps/v1',
  },
  // Pods last: Velero restores them after the PVCs they mount.
  { name: 'pods', kind: 'Pod', path: (ns) => `/api/v1/namespaces/${ns}/pods`, api: 'v1' },
];

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { phase?: string };
  [k: string]: unknown;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function settings(): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function setStatus(kind: string, name: string, status: Record<string, unknown>): Promise<void> {
  await kube.mergePatch(`${V1}/${kind}/${name}/status`, { status });
}

// ---- the object store of a BackupStorageLocation ------------------------------------------------
interface Store {
  bsl: string;
  bucket: string;
  prefix: string;
  url: string;
  sdk: Awaited<ReturnType<typeof loadS3Sdk>>;
  client: InstanceType<Awaited<ReturnType<typeof loadS3Sdk>>['S3Client']>;
}

function parseCredentials(text: string): { id: string; secret: string } {
  const id = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1] ?? '';
  const secret = /aws_secret_access_key\s*=\s*(\S+)/.exec(text)?.[1] ?? '';
  return { id, secret };
}

async function storeFor(bsl: Obj): Promise<Store> {
  const spec = bsl.spec as {
    objectStorage?: { bucket?: string; prefix?: string };
    config?: Record<string, string>;
    credential?: { name: string; key: string };
  };
  const cred = spec.credential ?? { name: 'cloud-credentials', key: 'cloud' };
  const secret = await kube.getOrNull<{ data?: Record<string, string> }>(
    `/api/v1/namespaces/${NS}/secrets/${cred.name}`,
  );
  const raw = secret?.data?.[cred.key];
  if (!raw)
    throw new Error(`unable to get credentials: secrets "${cred.name}" not found or has no key ${cred.key}`);
  const { id, secret: key } = parseCredentials(Buffer.from(raw, 'base64').toString('utf8'));
  const url = spec.config?.['s3Url'] ?? '';
  if (!url) throw new Error('lab: the BackupStorageLocation has no config.s3Url');
  const sdk = await loadS3Sdk();
  const client = new sdk.S3Client({
    endpoint: url,
    region: spec.config?.['region'] ?? 'us-east-1',
    forcePathStyle: spec.config?.['s3ForcePathStyle'] === 'true',
    credentials: { accessKeyId: id, secretAccessKey: key },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const prefix = spec.objectStorage?.prefix ? `${spec.objectStorage.prefix.replace(/\/+$/, '')}/` : '';
  return { bsl: bsl.metadata.name, bucket: spec.objectStorage?.bucket ?? '', prefix, url, sdk, client };
}

/** An S3 error as the AWS plugin (aws-sdk-go-v2 through gRPC) reports it. */
function pluginError(error: unknown, op: string, store: Store, path: string): string {
  const e = error as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string };
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.cause?.code;
  let detail: string;
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    detail = `https response error StatusCode: 0, RequestID: , request send failed, Get "${store.url}/${path}": context deadline exceeded`;
  else if (code === 'ECONNREFUSED')
    detail = `exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Get "${store.url}/${path}": dial tcp ${new URL(store.url).host}: connect: connection refused`;
  else
    detail = `https response error StatusCode: ${status ?? 0}, RequestID: ${e.$metadata?.requestId ?? ''}, HostID: , api error ${e.name ?? 'Unknown'}: ${e.message ?? ''}`;
  return `rpc error: code = Unknown desc = operation error S3: ${op}, ${detail}`;
}

async function send<T>(store: Store, command: unknown, op: string, path: string): Promise<T> {
  try {
    return (await store.client.send(command as never, { abortSignal: AbortSignal.timeout(30_000) })) as T;
  } catch (error) {
    throw new Error(pluginError(error, op, store, path), { cause: error });
  }
}

async function putObject(store: Store, key: string, body: Buffer | string): Promise<void> {
  await send(
    store,
    new store.sdk.PutObjectCommand({ Bucket: store.bucket, Key: `${store.prefix}${key}`, Body: body }),
    'PutObject',
    `${store.bucket}/${store.prefix}${key}`,
  );
}

async function getObject(store: Store, key: string): Promise<Buffer> {
  const r = await send<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>(
    store,
    new store.sdk.GetObjectCommand({ Bucket: store.bucket, Key: `${store.prefix}${key}` }),
    'GetObject',
    `${store.bucket}/${store.prefix}${key}`,
  );
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Top-level "directories" under the prefix (ListObjectsV2 with a delimiter). */
async function commonPrefixes(store: Store, under: string): Promise<string[]> {
  const r = await send<{ CommonPrefixes?: { Prefix?: string }[] }>(
    store,
    new store.sdk.ListObjectsV2Command({
      Bucket: store.bucket,
      Prefix: `${store.prefix}${under}`,
      Delimiter: '/',
    }),
    'ListObjectsV2',
    `${store.bucket}?delimiter=%2F&list-type=2&prefix=${encodeURIComponent(store.prefix + under)}`,
  );
  return (r.CommonPrefixes ?? []).map((p) =>
    (p.Prefix ?? '').slice(`${store.prefix}${under}`.length).replace(/\/$/, ''),
  );
}

// ---- BackupStorageLocation validation -----------------------------------------------------------
/** Velero's own top-level directories (pkg/persistence/object_store_layout.go). */
const VALID_ROOT_DIRS = new Set(['backups', 'restores', 'restic', 'kopia', 'metadata', 'plugins']);
const lastValidated = new Map<string, { at: number; generation: unknown }>();
const validating = new Set<string>();

async function validate(bsl: Obj): Promise<void> {
  const name = bsl.metadata.name;
  let err: string | null = null;
  try {
    const store = await storeFor(bsl);
    try {
      const dirs = await commonPrefixes(store, '');
      const invalid = dirs.filter((d) => !VALID_ROOT_DIRS.has(d));
      if (invalid.length > 0)
        err = `Backup store contains invalid top-level directories: [${invalid.join(' ')}]`;
    } finally {
      store.client.destroy();
    }
  } catch (error) {
    err = (error as Error).message;
  }
  await setStatus('backupstoragelocations', name, {
    phase: err ? 'Unavailable' : 'Available',
    message: err ? `BackupStorageLocation "${name}" is unavailable: ${err}` : '',
    lastValidationTime: now(),
  });
}

function tickLocations(locations: Obj[]): void {
  const every = readTiming(dir).bslValidationSec * 1000;
  for (const bsl of locations) {
    const name = bsl.metadata.name;
    const last = lastValidated.get(name);
    const due =
      !bsl.status?.phase ||
      !last ||
      last.generation !== bsl.metadata['generation'] ||
      Date.now() - last.at >= every;
    if (!due || validating.has(name)) continue;
    validating.add(name);
    lastValidated.set(name, { at: Date.now(), generation: bsl.metadata['generation'] });
    // Not awaited: a blackholed S3 must not stall the other controllers.
    validate(bsl)
      .catch((error: unknown) => process.stderr.write(`validate ${name}: ${(error as Error).message}\n`))
      .finally(() => validating.delete(name));
  }
}

// ---- Backups ------------------------------------------------------------------------------------
async function namespacesFor(spec: Record<string, unknown>): Promise<string[]> {
  const included = (spec['includedNamespaces'] as string[] | undefined) ?? ['*'];
  const excluded = (spec['excludedNamespaces'] as string[] | undefined) ?? [];
  let names: string[];
  if (included.includes('*')) {
    const list = await kube.get<{ items: Obj[] }>('/api/v1/namespaces');
    names = list.items.map((n) => n.metadata.name);
  } else names = included;
  return names.filter((n) => !excluded.includes(n));
}

/** The object as Velero stores it: no server-set metadata, no status. */
function clean(o: Obj): Obj {
  const meta: Record<string, unknown> = { ...o.metadata };
  for (const k of [
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'managedFields',
    'generation',
    'selfLink',
    'deletionTimestamp',
  ])
    delete meta[k];
  const rest: Record<string, unknown> = { ...o };
  delete rest['status'];
  return { ...(rest as Obj), metadata: meta as Obj['metadata'] };
}

function defaultLocation(locations: Obj[]): string | undefined {
  return locations.find((l) => (l.spec as { default?: boolean } | undefined)?.default)?.metadata.name;
}

interface PodVolumeBackupRecord {
  name: string;
  namespace: string;
  pod: string;
  podUid: string;
  volume: string;
  pvc: string;
  phase: 'Completed' | 'Failed';
  snapshotID: string;
  message?: string;
}

const expiresIn = (ttl: unknown) => {
  const m = /^(\d+)h/.exec(String(ttl ?? '720h'));
  return new Date(Date.now() + Number(m?.[1] ?? 720) * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
};

function fsBackupVolumes(pod: PodObj, spec: Record<string, unknown>): { volume: string; pvc: string }[] {
  const opted = (pod.metadata.annotations?.['backup.velero.io/backup-volumes'] ?? '')
    .split(',')
    .filter(Boolean);
  const all = spec['defaultVolumesToFsBackup'] === true;
  return (pod.spec.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim && (all || opted.includes(v.name))
      ? [{ volume: v.name, pvc: v.persistentVolumeClaim.claimName }]
      : [],
  );
}

/** File-system backup of one pod volume (node-agent + Kopia, here a tarball under kopia/<ns>/). */
async function podVolumeBackup(
  store: Store,
  b: Obj,
  pod: PodObj,
  vol: { volume: string; pvc: string },
): Promise<PodVolumeBackupRecord> {
  const name = `${b.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`;
  const ns = pod.metadata.namespace!;
  const base = {
    apiVersion: 'velero.io/v1',
    kind: 'PodVolumeBackup',
    metadata: {
      name,
      namespace: NS,
      labels: { 'velero.io/backup-name': b.metadata.name, 'velero.io/backup-uid': b.metadata.uid ?? '' },
      annotations: { 'velero.io/pvc-name': vol.pvc },
    },
    spec: {
      node: pod.spec.nodeName ?? '',
      pod: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
      volume: vol.volume,
      backupStorageLocation: store.bsl,
      repoIdentifier: `s3:${store.url}/${store.bucket}/${store.prefix}kopia/${ns}`,
      uploaderType: 'kopia',
      tags: { backup: b.metadata.name, ns, pod: pod.metadata.name, volume: vol.volume },
    },
  };
  await kube.ensure(`${V1}/podvolumebackups`, base);
  await setStatus('podvolumebackups', name, { phase: 'InProgress', startTimestamp: now() });
  const record: PodVolumeBackupRecord = {
    name,
    namespace: ns,
    pod: pod.metadata.name,
    podUid: pod.metadata.uid ?? '',
    volume: vol.volume,
    pvc: vol.pvc,
    phase: 'Failed',
    snapshotID: '',
  };
  const labNode = readState().nodes.find((n) => n.name === pod.spec.nodeName);
  const nodeRuns = labNode && !labNode.lost && nodeUnitRunning(labNode.dir, labNode.role);
  const podRunning = pod.status?.phase === 'Running';
  let message = '';
  if (!nodeRuns) message = `daemonset pod not found in running state in node ${pod.spec.nodeName ?? ''}`;
  else if (!podRunning)
    message = `pod is not in the expected status, name=${pod.metadata.name}, namespace=${ns}, phase=${pod.status?.phase ?? 'Pending'}: pod is not running`;
  else {
    try {
      const claim = await kube.get<PvcObj>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${vol.pvc}`);
      const pv = await kube.get<{ spec: { csi?: { volumeHandle: string } } }>(
        `/api/v1/persistentvolumes/${claim.spec.volumeName}`,
      );
      const root = volumePath(dir, pv.spec.csi?.volumeHandle ?? '');
      const files = listFiles(root).map((f) => ({ name: f, data: readFileSync(join(root, f)) }));
      const snapshotID = randomBytes(16).toString('hex');
      await putObject(store, `kopia/${ns}/lab-snapshots/${snapshotID}.tar.gz`, gzipSync(tarPack(files)));
      record.phase = 'Completed';
      record.snapshotID = snapshotID;
    } catch (error) {
      message = (error as Error).message;
    }
  }
  record.message = message || undefined;
  await setStatus('podvolumebackups', name, {
    phase: record.phase,
    ...(record.snapshotID
      ? { snapshotID: record.snapshotID, path: `/host_pods/${record.podUid}/volumes/${vol.volume}` }
      : {}),
    ...(message ? { message } : {}),
    completionTimestamp: now(),
  });
  return record;
}

async function runBackup(b: Obj, locations: Obj[]): Promise<void> {
  const name = b.metadata.name;
  const spec = b.spec ?? {};
  const locationName = String(spec['storageLocation'] ?? defaultLocation(locations) ?? 'default');
  const location = locations.find((l) => l.metadata.name === locationName);
  const validationErrors: string[] = [];
  if (!location)
    validationErrors.push(
      `an existing backup storage location was not specified at backup creation time and the default ${locationName} was not found. Please address this issue (see \`velero backup-location -h\` for options) and create a new backup. Error: backupstoragelocations.velero.io "${locationName}" not found`,
    );
  else if (location.status?.phase !== 'Available')
    validationErrors.push(
      `backup can't be created because BackupStorageLocation ${locationName} is in Unavailable status.`,
    );
  await kube.mergePatch(`${V1}/backups/${name}`, {
    metadata: { labels: { 'velero.io/storage-location': locationName } },
  });
  // A validation failure Velero finds in the spec (an unknown resource, a bad selector, ...),
  // asked for by annotation / setting `FailedValidation`: the location checks above are the
  // only ones the lab derives itself.
  const asked =
    b.metadata.annotations?.[RESULT_ANNOTATION] ?? (settings()['veleroResult'] as string | undefined);
  if (asked === 'FailedValidation' && validationErrors.length === 0)
    validationErrors.push('lab: invalid backup spec (FailedValidation asked for by the lab result setting)');
  if (validationErrors.length > 0) {
    await setStatus('backups', name, {
      phase: 'FailedValidation',
      validationErrors,
      version: 1,
      formatVersion: '1.1.0',
    });
    return;
  }
  const started = now();
  await setStatus('backups', name, {
    phase: 'InProgress',
    startTimestamp: started,
    expiration: expiresIn(spec['ttl']),
    version: 1,
    formatVersion: '1.1.0',
  });
  const wanted =
    b.metadata.annotations?.[RESULT_ANNOTATION] ??
    (settings()['veleroResult'] as string | undefined) ??
    'Completed';
  const store = await storeFor(location!);
  try {
    if ((await commonPrefixes(store, 'backups/')).includes(name)) {
      await setStatus('backups', name, {
        phase: 'Failed',
        failureReason: 'backup already exists in object storage',
        completionTimestamp: now(),
      });
      return;
    }
    if (wanted === 'Failed') {
      await setStatus('backups', name, {
        phase: 'Failed',
        failureReason: `lab: simulated failure (${RESULT_ANNOTATION})`,
        completionTimestamp: now(),
      });
      return;
    }
    const files: { name: string; data: Buffer }[] = [
      { name: 'metadata/version', data: Buffer.from('1.1.0\n') },
    ];
    const pvbs: PodVolumeBackupRecord[] = [];
    for (const ns of await namespacesFor(spec)) {
      for (const r of RESOURCES) {
        const list = await kube.getOrNull<{ items: Obj[] }>(r.path(ns));
        for (const item of list?.items ?? []) {
          if (r.kind === 'Pod' && item.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined)
            continue;
          if (item.metadata['deletionTimestamp']) continue;
          files.push({
            name: `resources/${r.name}/namespaces/${ns}/${item.metadata.name}.json`,
            data: Buffer.from(JSON.stringify(clean({ ...item, apiVersion: r.api, kind: r.kind }))),
          });
          if (r.kind === 'Pod') {
            for (const vol of fsBackupVolumes(item as unknown as PodObj, spec))
              pvbs.push(await podVolumeBackup(store, b, item as unknown as PodObj, vol));
          }
        }
      }
    }
    const errors = pvbs.filter((p) => p.phase === 'Failed').length + (wanted === 'PartiallyFailed' ? 1 : 0);
    await putObject(store, `backups/${name}/${name}.tar.gz`, gzipSync(tarPack(files)));
    await putObject(
      store,
      `backups/${name}/${name}-podvolumebackups.json.gz`,
      gzipSync(JSON.stringify(pvbs)),
    );
    const items = files.length - 1;
    await setStatus('backups', name, {
      phase: errors > 0 ? 'FinalizingPartiallyFailed' : 'Finalizing',
      progress: { totalItems: items, itemsBackedUp: items },
      errors,
    });
    await sleep(readTiming(dir).veleroFinalizingSec * 1000);
    const final = {
      phase: errors > 0 ? 'PartiallyFailed' : 'Completed',
      startTimestamp: started,
      completionTimestamp: now(),
      expiration: expiresIn(spec['ttl']),
      progress: { totalItems: items, itemsBackedUp: items },
      errors,
      warnings: 0,
      version: 1,
      formatVersion: '1.1.0',
    };
    // velero-backup.json carries the final status: backup sync restores it from there.
    const current = await kube.get<Obj>(`${V1}/backups/${name}`);
    await putObject(
      store,
      `backups/${name}/velero-backup.json`,
      JSON.stringify({ ...clean(current), status: final }),
    );
    await setStatus('backups', name, final);
  } finally {
    store.client.destroy();
  }
}

// ---- Restores -----------------------------------------------------------------------------------
interface PendingPvr {
  name: string;
  namespace: string;
  pod: string;
  pvc: string;
  snapshotID: string;
  store: Obj;
}

async function runRestore(r: Obj, locations: Obj[]): Promise<void> {
  const name = r.metadata.name;
  const backupName = String(r.spec?.['backupName'] ?? '');
  const backup = backupName ? await kube.getOrNull<Obj>(`${V1}/backups/${backupName}`) : null;
  if (!backup || (backup.status?.phase !== 'Completed' && backup.status?.phase !== 'PartiallyFailed')) {
    await setStatus('restores', name, {
      phase: 'FailedValidation',
      validationErrors: [
        backup
          ? `backup ${backupName} is not in a completed state (phase ${backup.status?.phase ?? 'New'})`
          : `Error retrieving backup: backups.velero.io "${backupName}" not found`,
      ],
    });
    return;
  }
  const locationName =
    backup.metadata.labels?.['velero.io/storage-location'] ??
    String(backup.spec?.['storageLocation'] ?? 'default');
  const location = locations.find((l) => l.metadata.name === locationName);
  if (!location) {
    await setStatus('restores', name, {
      phase: 'FailedValidation',
      validationErrors: [
        `Error getting backup storage location: backupstoragelocations.velero.io "${locationName}" not found`,
      ],
    });
    return;
  }
  await setStatus('restores', name, { phase: 'InProgress', startTimestamp: now() });
  const wanted =
    r.metadata.annotations?.[RESULT_ANNOTATION] ??
    (settings()['veleroRestoreResult'] as string | undefined) ??
    'Completed';
  const store = await storeFor(location);
  const errors: string[] = [];
  const warnings: string[] = [];
  let restored = 0;
  const pvrs: PendingPvr[] = [];
  try {
    const files = tarUnpack(gunzipSync(await getObject(store, `backups/${backupName}/${backupName}.tar.gz`)));
    let pvbRecords: PodVolumeBackupRecord[] = [];
    try {
      pvbRecords = JSON.parse(
        gunzipSync(
          await getObject(store, `backups/${backupName}/${backupName}-podvolumebackups.json.gz`),
        ).toString('utf8'),
      ) as PodVolumeBackupRecord[];
    } catch {
      // a backup without file-system backups
    }
    const included = (r.spec?.['includedNamespaces'] as string[] | undefined) ?? ['*'];
    const createdPvcs = new Set<string>();
    const byResource = (res: string) =>
      files.filter((f) => f.name.startsWith(`resources/${res}/namespaces/`) && f.name.endsWith('.json'));
    for (const res of RESOURCES) {
      for (const f of byResource(res.name)) {
        const ns = f.name.split('/')[3]!;
        if (!included.includes('*') && !included.includes(ns)) continue;
        await kube.ensure('/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        } as never);
        const obj = JSON.parse(f.data.toString('utf8')) as Obj;
        const path = `${res.path(ns)}/${obj.metadata.name}`;
        if (await kube.getOrNull(path)) {
          warnings.push(
            `could not restore, ${res.kind} "${obj.metadata.name}" already exists. Warning: the in-cluster version is different than the backed-up version`,
          );
          continue;
        }
        const fsBacked = pvbRecords.filter((p) => p.namespace === ns && p.phase === 'Completed');
        if (res.kind === 'PersistentVolumeClaim' && fsBacked.some((p) => p.pvc === obj.metadata.name)) {
          // A new volume is provisioned for it; the data comes from the PodVolumeRestore.
          const spec = { ...(obj.spec ?? {}) };
          delete spec['volumeName'];
          const annotations = { ...(obj.metadata.annotations ?? {}) };
          for (const a of [
            'pv.kubernetes.io/bind-completed',
            'pv.kubernetes.io/bound-by-controller',
            'volume.kubernetes.io/selected-node',
          ])
            delete annotations[a];
          obj.spec = spec;
          obj.metadata.annotations = annotations;
        }
        if (res.kind === 'Pod') {
          const spec = { ...(obj.spec ?? {}) };
          delete spec['nodeName'];
          delete spec['priority'];
          obj.spec = spec;
        }
        obj.metadata.labels = {
          ...(obj.metadata.labels ?? {}),
          'velero.io/backup-name': backupName,
          'velero.io/restore-name': name,
        };
        try {
          await kube.call('POST', res.path(ns), obj);
          restored++;
          if (res.kind === 'PersistentVolumeClaim') createdPvcs.add(`${ns}/${obj.metadata.name}`);
          if (res.kind === 'Pod') {
            for (const p of fsBacked.filter((x) => x.pod === obj.metadata.name)) {
              // Only a volume Velero created gets the data; an existing PVC keeps its own.
              if (!createdPvcs.has(`${ns}/${p.pvc}`)) continue;
              pvrs.push({
                name: `${name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
                namespace: ns,
                pod: obj.metadata.name,
                pvc: p.pvc,
                snapshotID: p.snapshotID,
                store: location,
              });
            }
          }
        } catch (error) {
          errors.push(
            `error restoring ${res.name}/${ns}/${obj.metadata.name}: ${error instanceof KubeError ? error.message : String(error)}`,
          );
        }
      }
    }
    for (const p of pvrs) {
      const pod = await kube.getOrNull<PodObj>(`/api/v1/namespaces/${p.namespace}/pods/${p.pod}`);
      await kube.ensure(`${V1}/podvolumerestores`, {
        apiVersion: 'velero.io/v1',
        kind: 'PodVolumeRestore',
        metadata: {
          name: p.name,
          namespace: NS,
          labels: { 'velero.io/restore-name': name, 'velero.io/pod-uid': pod?.metadata.uid ?? '' },
        },
        spec: {
          pod: { kind: 'Pod', namespace: p.namespace, name: p.pod, uid: pod?.metadata.uid },
          volume: p.pvc,
          backupStorageLocation: location.metadata.name,
          snapshotID: p.snapshotID,
          sourceNamespace: p.namespace,
          uploaderType: 'kopia',
        },
      });
      await setStatus('podvolumerestores', p.name, { phase: 'New' });
      pendingPvrs.set(p.name, p);
    }
    // The restore waits for its PodVolumeRestores (done once the pods run somewhere).
    while (pvrs.some((p) => pendingPvrs.has(p.name))) await sleep(500);
    for (const p of pvrs) if (failedPvrs.has(p.name)) errors.push(failedPvrs.get(p.name)!);
  } catch (error) {
    await setStatus('restores', name, {
      phase: 'Failed',
      failureReason: (error as Error).message,
      completionTimestamp: now(),
    });
    return;
  } finally {
    store.client.destroy();
  }
  if (wanted === 'Failed') {
    await setStatus('restores', name, {
      phase: 'Failed',
      failureReason: `lab: simulated failure (${RESULT_ANNOTATION})`,
      completionTimestamp: now(),
    });
    return;
  }
  if (wanted === 'PartiallyFailed') errors.push(`lab: simulated restore error (${RESULT_ANNOTATION})`);
  await setStatus('restores', name, {
    phase: errors.length > 0 ? 'FinalizingPartiallyFailed' : 'Finalizing',
    progress: { totalItems: restored + warnings.length, itemsRestored: restored },
  });
  await sleep(readTiming(dir).veleroFinalizingSec * 1000);
  await setStatus('restores', name, {
    phase: errors.length > 0 ? 'PartiallyFailed' : 'Completed',
    completionTimestamp: now(),
    progress: { totalItems: restored + warnings.length, itemsRestored: restored },
    warnings: warnings.length,
    errors: errors.length,
  });
  // `velero restore describe` reads the results from the bucket (restores/<name>/).
  const results = { errors: { namespaces: {}, velero: errors }, warnings: { velero: warnings } };
  const s = await storeFor(location).catch(() => null);
  if (s) {
    await putObject(
      s,
      `restores/${name}/restore-${name}-results.gz`,
      gzipSync(JSON.stringify(results)),
    ).catch(() => {});
    s.client.destroy();
  }
}

const pendingPvrs = new Map<string, PendingPvr>();
const failedPvrs = new Map<string, string>();

/** node-agent: restores a pod volume once its pod runs on a live node and its new PVC is bound. */
async function tickPodVolumeRestores(): Promise<void> {
  for (const [name, p] of pendingPvrs) {
    const pod = await kube.getOrNull<PodObj>(`/api/v1/namespaces/${p.namespace}/pods/${p.pod}`);
    const claim = await kube.getOrNull<PvcObj>(
      `/api/v1/namespaces/${p.namespace}/persistentvolumeclaims/${p.pvc}`,
    );
    if (!pod?.spec.nodeName || claim?.status?.phase !== 'Bound' || !claim.spec.volumeName) continue;
    const labNode = readState().nodes.find((n) => n.name === pod.spec.nodeName);
    if (!labNode || !nodeUnitRunning(labNode.dir, labNode.role)) continue;
    await setStatus('podvolumerestores', name, { phase: 'InProgress', startTimestamp: now() });
    try {
      const pv = await kube.get<{ spec: { csi?: { volumeHandle: string } } }>(
        `/api/v1/persistentvolumes/${claim.spec.volumeName}`,
      );
      const store = await storeFor(p.store);
      try {
        const data = await getObject(store, `kopia/${p.namespace}/lab-snapshots/${p.snapshotID}.tar.gz`);
        const files = Object.fromEntries(
          tarUnpack(gunzipSync(data)).map((f) => [f.name, f.data.toString('utf8')]),
        );
        writeDir(volumePath(dir, pv.spec.csi?.volumeHandle ?? ''), files, true);
      } finally {
        store.client.destroy();
      }
      await setStatus('podvolumerestores', name, { phase: 'Completed', completionTimestamp: now() });
    } catch (error) {
      failedPvrs.set(name, `pod volume restore failed: ${(error as Error).message}`);
      await setStatus('podvolumerestores', name, {
        phase: 'Failed',
        message: (error as Error).message,
        completionTimestamp: now(),
      });
    }
    pendingPvrs.delete(name);
  }
}

// ---- Backup sync --------------------------------------------------------------------------------
let lastSync = 0;

async function syncBackups(locations: Obj[]): Promise<void> {
  if (Date.now() - lastSync < readTiming(dir).backupSyncSec * 1000) return;
  lastSync = Date.now();
  const inCluster = await kube.get<{ items: Obj[] }>(`${V1}/backups`);
  for (const bsl of locations.filter((l) => l.status?.phase === 'Available')) {
    const store = await storeFor(bsl);
    try {
      const names = await commonPrefixes(store, 'backups/');
      for (const n of names) {
        if (inCluster.items.some((b) => b.metadata.name === n)) continue;
        let stored: Obj;
        try {
          stored = JSON.parse(
            (await getObject(store, `backups/${n}/velero-backup.json`)).toString('utf8'),
          ) as Obj;
        } catch {
          continue; // still being written, or not a backup
        }
        await kube.ensure(`${V1}/backups`, {
          apiVersion: 'velero.io/v1',
          kind: 'Backup',
          metadata: {
            name: n,
            namespace: NS,
            labels: { ...(stored.metadata.labels ?? {}), 'velero.io/storage-location': bsl.metadata.name },
            ...(stored.metadata.annotations ? { annotations: stored.metadata.annotations } : {}),
          },
          spec: stored.spec ?? {},
        });
        if (stored.status) await setStatus('backups', n, stored.status);
      }
      // Completed backups whose data is gone from the bucket are deleted from the cluster.
      for (const b of inCluster.items) {
        if (b.metadata.labels?.['velero.io/storage-location'] !== bsl.metadata.name) continue;
        if (b.status?.phase !== 'Completed' || names.includes(b.metadata.name)) continue;
        await kube.delete(`${V1}/backups/${b.metadata.name}`);
      }
    } finally {
      store.client.destroy();
    }
  }
}

// ---- Schedules ----------------------------------------------------------------------------------
async function tickSchedules(): Promise<void> {
  const schedules = await kube.get<{ items: Obj[] }>(`${V1}/schedules`);
  for (const s of schedules.items) {
    const spec = s.spec ?? {};
    const cronText = String(spec['schedule'] ?? '');
    let cron: ReturnType<typeof parseCron>;
    try {
      if (!cronText) throw new Error('Schedule must be a non-empty valid Cron expression');
      cron = parseCron(cronText);
    } catch (error) {
      const msg = cronText ? `invalid schedule: ${(error as Error).message}` : (error as Error).message;
      if (s.status?.phase !== 'FailedValidation')
        await setStatus('schedules', s.metadata.name, { phase: 'FailedValidation', validationErrors: [msg] });
      continue;
    }
    if (s.status?.phase !== 'Enabled')
      await setStatus('schedules', s.metadata.name, { phase: 'Enabled', validationErrors: null });
    if (spec['paused'] === true) continue;
    const last = s.status?.['lastBackup']
      ? new Date(String(s.status['lastBackup']))
      : new Date(s.metadata.creationTimestamp ?? Date.now());
    const nextRun = cron.next(last);
    if (Date.now() < nextRun.getTime()) continue;
    const at = new Date();
    const template = (spec['template'] as Record<string, unknown> | undefined) ?? {};
    await kube.ensure(`${V1}/backups`, {
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: {
        name: scheduleBackupName(s.metadata.name, at),
        namespace: NS,
        labels: {
          'velero.io/schedule-name': s.metadata.name,
          'velero.io/storage-location': String(template['storageLocation'] ?? 'default'),
        },
      },
      spec: template,
    });
    await setStatus('schedules', s.metadata.name, { lastBackup: now() });
  }
}

// ---- the loop -----------------------------------------------------------------------------------
const busy = new Set<string>();

async function tickVelero(): Promise<void> {
  const locations = (await kube.get<{ items: Obj[] }>(`${V1}/backupstoragelocations`)).items;
  tickLocations(locations);
  const backups = (await kube.get<{ items: Obj[] }>(`${V1}/backups`)).items;
  const runningBackup = [...busy].some((k) => k.startsWith('backups/'));
  // One backup at a time, in creation order (Velero 1.17 runs backups one by one).
  const next = backups
    .filter((b) => !b.status?.phase || b.status.phase === 'New')
    .sort((a, b) =>
      String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
    )[0];
  if (next && !runningBackup) start('backups', next, () => runBackup(next, locations));
  for (const r of (await kube.get<{ items: Obj[] }>(`${V1}/restores`)).items) {
    if (!r.status?.phase || r.status.phase === 'New') start('restores', r, () => runRestore(r, locations));
  }
  await tickPodVolumeRestores();
  await tickSchedules();
  await syncBackups(locations);
}

function start(kind: 'backups' | 'restores', o: Obj, job: () => Promise<void>): void {
  const key = `${kind}/${o.metadata.name}`;
  if (busy.has(key)) return;
  busy.add(key);
  job()
    .catch(async (error: unknown) => {
      process.stderr.write(`${key}: ${(error as Error).message}\n`);
      await setStatus(kind, o.metadata.name, {
        phase: 'Failed',
        failureReason: (error as Error).message,
        completionTimestamp: now(),
      }).catch(() => {});
    })
    .finally(() => busy.delete(key));
}

async function guarded(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    // API down (cluster being restored): try again next round
    if (process.env.RKE2OPS_LAB_DEBUG) process.stderr.write(`${what}: ${(error as Error).message}\n`);
  }
}

async function main(): Promise<void> {
  for (;;) {
    state = readState();
    const timing = readTiming(dir);
    const legacyGrace = settings()['nodeMonitorGraceSeconds'];
    const graceMs = Number(legacyGrace ?? timing.nodeMonitorGraceSec) * 1000;
    await guarded('velero', tickVelero);
    await guarded('namespaces', () => tickNamespaces(kube));
    await guarded('node lifecycle', () => tickNodeLifecycle(kube, state, graceMs));
    await guarded('scheduler', () => tickScheduler(kube, state));
    await guarded('kubelets', () => tickKubelets(kube, state, dir));
    await guarded('volumes', () => tickVolumes(kube, dir));
    await sleep(500);
  }
}
void main();
