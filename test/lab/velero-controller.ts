/**
 * SIMULATION of the Velero server for the lab (rke2-facts.md §5.1-§5.4): a small process the
 * lab starts (bundled, `node velero-lab-controller.mjs <lab dir>`) that moves `Backup` and
 * `Restore` objects of the REAL API through Velero's phases and keeps their data in the REAL
 * S3 server, in Velero's layout: `backups/<name>/<name>.tar.gz` (+ `velero-backup.json`).
 *
 *  - Backup: New -> InProgress -> Completed, or PartiallyFailed/Failed when the Backup carries
 *    the annotation `lab.rke2-ops.io/result: PartiallyFailed|Failed` or the lab settings say
 *    `{"veleroResult": "..."}`. Contents: namespaced objects (configmaps, secrets, services,
 *    serviceaccounts, persistentvolumeclaims, deployments, statefulsets) of the included
 *    namespaces as JSON under `resources/<resource>/namespaces/<ns>/<name>.json`.
 *  - Restore: New -> InProgress -> Completed: creates what the backup holds and the cluster
 *    lacks; like Velero it never overwrites an existing object (counted as a warning).
 *    FailedValidation when the backup does not exist.
 *  - Schedule: status.phase Enabled. (No cron: backups from a schedule are created by the toolkit.)
 * The same process also runs the node lifecycle and namespace controller simulations
 * (node-lifecycle.ts, namespace-controller.ts).
 */
import { loadS3Sdk } from './aws-sdk.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { KubeClient, authFromFiles } from './kube-client.js';
import { tarPack, tarUnpack } from './tar.js';
import { tickNodeLifecycle } from './node-lifecycle.js';
import { tickNamespaces } from './namespace-controller.js';
import type { LabState } from './state.js';

const dir = process.argv[2] ?? '';
const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
const pki = join(dir, 'pki');
const kube = new KubeClient(
  state.nodes.filter((n) => n.role === 'master').map((m) => `https://${m.address}:6443`),
  authFromFiles(join(pki, 'ca.crt'), join(pki, 'client-admin.crt'), join(pki, 'client-admin.key')),
  4000,
);
const NS = 'velero';
const BUCKET = state.s3.veleroBucket;
const RESOURCES: { name: string; path: (ns: string) => string; api: string }[] = [
  { name: 'configmaps', path: (ns) => `/api/v1/namespaces/${ns}/configmaps`, api: 'v1' },
  { name: 'secrets', path: (ns) => `/api/v1/namespaces/${ns}/secrets`, api: 'v1' },
  { name: 'services', path: (ns) => `/api/v1/namespaces/${ns}/services`, api: 'v1' },
  { name: 'serviceaccounts', path: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`, api: 'v1' },
  {
    name: 'persistentvolumeclaims',
    path: (ns) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    api: 'v1',
  },
  { name: 'deployments.apps', path: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`, api: 'apps/v1' },
  { name: 'statefulsets.apps', path: (ns) => `/apis/apps/v1/namespaces/${ns}/statefulsets`, api: 'apps/v1' },
];

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: { phase?: string };
  [k: string]: unknown;
}

async function s3() {
  const sdk = await loadS3Sdk();
  const client = new sdk.S3Client({
    endpoint: `http://${state.s3.endpoint}`,
    region: state.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: state.s3.accessKeyId, secretAccessKey: state.s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { sdk, client };
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function settings(): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function setStatus(
  kind: 'backups' | 'restores' | 'schedules',
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await kube.mergePatch(`/apis/velero.io/v1/namespaces/${NS}/${kind}/${name}/status`, { status });
}

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
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'])
    delete meta[k];
  const rest: Record<string, unknown> = { ...o };
  delete rest['status'];
  return { ...(rest as Obj), metadata: meta as Obj['metadata'] };
}

async function runBackup(b: Obj): Promise<void> {
  const name = b.metadata.name;
  const started = now();
  await setStatus('backups', name, {
    phase: 'InProgress',
    startTimestamp: started,
    version: 1,
    formatVersion: '1.1.0',
  });
  const wanted =
    b.metadata.annotations?.['lab.rke2-ops.io/result'] ??
    (settings()['veleroResult'] as string | undefined) ??
    'Completed';
  if (wanted === 'Failed') {
    await setStatus('backups', name, {
      phase: 'Failed',
      failureReason: 'lab: simulated failure (lab.rke2-ops.io/result)',
      completionTimestamp: now(),
    });
    return;
  }
  const files: { name: string; data: Buffer }[] = [
    { name: 'metadata/version', data: Buffer.from('1.1.0\n') },
  ];
  for (const ns of await namespacesFor(b.spec ?? {})) {
    for (const r of RESOURCES) {
      const list = await kube.getOrNull<{ items: Obj[] }>(r.path(ns));
      for (const item of list?.items ?? []) {
        const kind =
          r.name === 'configmaps'
            ? 'ConfigMap'
            : r.name === 'secrets'
              ? 'Secret'
              : r.name === 'services'
                ? 'Service'
                : r.name === 'serviceaccounts'
                  ? 'ServiceAccount'
                  : r.name === 'persistentvolumeclaims'
                    ? 'PersistentVolumeClaim'
                    : r.name === 'deployments.apps'
                      ? 'Deployment'
                      : 'StatefulSet';
        const obj = clean({ ...item, apiVersion: r.api, kind });
        files.push({
          name: `resources/${r.name}/namespaces/${ns}/${item.metadata.name}.json`,
          data: Buffer.from(JSON.stringify(obj)),
        });
      }
    }
  }
  const tgz = gzipSync(tarPack(files));
  const { sdk, client } = await s3();
  await client.send(
    new sdk.PutObjectCommand({ Bucket: BUCKET, Key: `backups/${name}/${name}.tar.gz`, Body: tgz }),
  );
  await client.send(
    new sdk.PutObjectCommand({
      Bucket: BUCKET,
      Key: `backups/${name}/velero-backup.json`,
      Body: JSON.stringify(b),
    }),
  );
  const items = files.length - 1;
  const partially = wanted === 'PartiallyFailed';
  await setStatus('backups', name, {
    phase: partially ? 'PartiallyFailed' : 'Completed',
    startTimestamp: started,
    completionTimestamp: now(),
    expiration: new Date(Date.now() + 720 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    progress: { totalItems: items, itemsBackedUp: items },
    errors: partially ? 1 : 0,
    warnings: 0,
    version: 1,
    formatVersion: '1.1.0',
  });
}

async function runRestore(r: Obj): Promise<void> {
  const name = r.metadata.name;
  const backupName = String(r.spec?.['backupName'] ?? '');
  const backup = backupName
    ? await kube.getOrNull<Obj>(`/apis/velero.io/v1/namespaces/${NS}/backups/${backupName}`)
    : null;
  if (!backup || (backup.status?.phase !== 'Completed' && backup.status?.phase !== 'PartiallyFailed')) {
    await setStatus('restores', name, {
      phase: 'FailedValidation',
      validationErrors: [`backup ${JSON.stringify(backupName)} not found or not completed`],
      completionTimestamp: now(),
    });
    return;
  }
  await setStatus('restores', name, { phase: 'InProgress', startTimestamp: now() });
  const { sdk, client } = await s3();
  const got = await client.send(
    new sdk.GetObjectCommand({ Bucket: BUCKET, Key: `backups/${backupName}/${backupName}.tar.gz` }),
  );
  const files = tarUnpack(gunzipSync(Buffer.from(await got.Body!.transformToByteArray())));
  const included = (r.spec?.['includedNamespaces'] as string[] | undefined) ?? ['*'];
  let restored = 0;
  let skipped = 0;
  for (const f of files) {
    const m = /^resources\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)\.json$/.exec(f.name);
    if (!m) continue;
    const [, resource, ns] = m as unknown as [string, string, string];
    if (!included.includes('*') && !included.includes(ns)) continue;
    const res = RESOURCES.find((x) => x.name === resource);
    if (!res) continue;
    await kube.ensure('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    } as never);
    const obj = JSON.parse(f.data.toString('utf8')) as Obj;
    if (await kube.getOrNull(`${res.path(ns)}/${obj.metadata.name}`)) {
      skipped++;
      continue;
    }
    await kube.ensure(res.path(ns), obj);
    restored++;
  }
  await setStatus('restores', name, {
    phase: 'Completed',
    completionTimestamp: now(),
    progress: { totalItems: restored + skipped, itemsRestored: restored },
    warnings: skipped,
    errors: 0,
  });
}

const busy = new Set<string>();
async function tick(): Promise<void> {
  for (const kind of ['backups', 'restores'] as const) {
    const list = await kube.get<{ items: Obj[] }>(`/apis/velero.io/v1/namespaces/${NS}/${kind}`);
    for (const o of list.items) {
      const phase = o.status?.phase ?? '';
      const key = `${kind}/${o.metadata.name}`;
      if ((phase === '' || phase === 'New') && !busy.has(key)) {
        busy.add(key);
        const job = kind === 'backups' ? runBackup(o) : runRestore(o);
        job
          .catch(async (error: unknown) => {
            process.stderr.write(`${key}: ${(error as Error).message}\n`);
            await setStatus(kind, o.metadata.name, {
              phase: 'Failed',
              failureReason: (error as Error).message,
            }).catch(() => {});
          })
          .finally(() => busy.delete(key));
      }
    }
  }
  const schedules = await kube.get<{ items: Obj[] }>(`/apis/velero.io/v1/namespaces/${NS}/schedules`);
  for (const s of schedules.items)
    if (!s.status?.phase) await setStatus('schedules', s.metadata.name, { phase: 'Enabled' });
}

async function main(): Promise<void> {
  for (;;) {
    try {
      await tick();
    } catch {
      // API down (cluster being restored): try again next round
    }
    try {
      await tickNamespaces(kube);
    } catch {
      // same
    }
    try {
      const grace = Number(settings()['nodeMonitorGraceSeconds'] ?? 10) * 1000;
      await tickNodeLifecycle(kube, state, grace);
    } catch {
      // same
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
void main();
