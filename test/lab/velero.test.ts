/**
 * The Velero simulation where a snapshot or rollback tool can go wrong (issue 9; rke2-facts.md
 * §5): the BackupStorageLocation's phase comes from a real probe of S3; a backup on an
 * unavailable or unknown location ends FailedValidation; backups pass through Finalizing; file-
 * system backup of PVC data; a pod on a dead node makes the backup PartiallyFailed; Schedules run
 * their cron; restore results can be set; a restore writes volume data only into PVCs it creates;
 * backup sync brings back Backup objects after an etcd restore.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from './lab.js';
import { DATABASE_CONTENT, DATABASE_PVC } from './scenarios.js';

jest.setTimeout(600_000);
let lab: Lab;
const NAME = 'l2-velero';
const M0 = `${NAME}-master-0`;
const V1 = '/apis/velero.io/v1/namespaces/velero';
const { namespace: NS, name: PVC } = DATABASE_PVC;

beforeAll(async () => {
  lab = await createLab({ masters: 1, workers: 2, name: NAME, timing: 'fast' });
});
afterAll(async () => {
  await lab?.destroy();
});

interface VObj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    phase?: string;
    message?: string;
    validationErrors?: string[];
    errors?: number;
    warnings?: number;
    lastBackup?: string;
  };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const get = (kind: string, name: string) => lab.kube().get<VObj>(`${V1}/${kind}/${name}`);
const phaseOf = async (kind: string, name: string) =>
  (await lab.kube().getOrNull<VObj>(`${V1}/${kind}/${name}`))?.status?.phase;

async function backup(
  name: string,
  extra: Partial<VObj> & { spec?: Record<string, unknown> } = {},
): Promise<void> {
  const sched = await get('schedules', 'velero-full-cluster');
  await lab.kube().call('POST', `${V1}/backups`, {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'velero', ...(extra.metadata ?? {}) },
    spec: { ...(sched.spec?.['template'] as object), ...(extra.spec ?? {}) },
  });
}

/** Polls fast enough to see every phase a Backup/Restore goes through. */
async function phases(kind: string, name: string, timeoutMs = 60_000): Promise<string[]> {
  const seen: string[] = [];
  const terminal = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
  await until(
    `${kind}/${name} terminal`,
    async () => {
      const p = await phaseOf(kind, name);
      if (p && seen[seen.length - 1] !== p) seen.push(p);
      return p !== undefined && terminal.includes(p);
    },
    timeoutMs,
  );
  return seen;
}

async function restore(
  name: string,
  backupName: string,
  annotations?: Record<string, string>,
): Promise<void> {
  await lab.kube().call('POST', `${V1}/restores`, {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name, namespace: 'velero', ...(annotations ? { annotations } : {}) },
    spec: { backupName, includedNamespaces: [NS] },
  });
}

test('BackupStorageLocation: Available from a real S3 probe, Unavailable (with the error) when S3 is down', async () => {
  const bsl = await until('BSL validated', async () => {
    const b = await get('backupstoragelocations', 'default');
    return b.status?.phase ? b : undefined;
  });
  expect(bsl.status).toMatchObject({ phase: 'Available', message: '' });
  await lab.s3Down({ mode: 'refuse' });
  const down = await until(
    'BSL Unavailable',
    async () => {
      const b = await get('backupstoragelocations', 'default');
      return b.status?.phase === 'Unavailable' ? b : undefined;
    },
    30_000,
  );
  expect(down.status?.message).toMatch(
    /^BackupStorageLocation "default" is unavailable: rpc error: code = Unknown desc = operation error S3: ListObjectsV2, .*connection refused/,
  );
  // A backup on an unavailable location fails validation; so does one on an unknown location.
  await backup('on-unavailable');
  await backup('on-unknown', { spec: { storageLocation: 'nowhere' } });
  expect(await phases('backups', 'on-unavailable')).toEqual(['FailedValidation']);
  expect((await get('backups', 'on-unavailable')).status?.validationErrors).toEqual([
    "backup can't be created because BackupStorageLocation default is in Unavailable status.",
  ]);
  expect(await phases('backups', 'on-unknown')).toEqual(['FailedValidation']);
  expect((await get('backups', 'on-unknown')).status?.validationErrors?.[0]).toContain(
    'an existing backup storage location was not specified at backup creation time and the default nowhere was not found',
  );
  await lab.s3Up();
  await until(
    'BSL Available',
    async () => (await get('backupstoragelocations', 'default')).status?.phase === 'Available',
    30_000,
  );
  // Revoked credentials: the probe gets 403.
  await lab.applyScenario('s3-bad-credentials');
  const denied = await until(
    'BSL Unavailable (credentials)',
    async () => {
      const b = await get('backupstoragelocations', 'default');
      return b.status?.phase === 'Unavailable' ? b : undefined;
    },
    30_000,
  );
  expect(denied.status?.message).toContain('StatusCode: 403');
  await lab.clearScenario('s3-bad-credentials');
  await until(
    'BSL Available',
    async () => (await get('backupstoragelocations', 'default')).status?.phase === 'Available',
    30_000,
  );
});

test('a backup passes Finalizing; file-system backup records a PodVolumeBackup per PVC volume', async () => {
  await backup('good');
  const seen = await phases('backups', 'good');
  expect(seen).toEqual(expect.arrayContaining(['InProgress', 'Finalizing', 'Completed']));
  expect(seen.indexOf('Finalizing')).toBeLessThan(seen.indexOf('Completed'));
  const pvbs = await lab
    .kube()
    .get<{ items: VObj[] }>(`${V1}/podvolumebackups?labelSelector=velero.io%2Fbackup-name%3Dgood`);
  expect(pvbs.items.map((p) => [p.metadata.annotations?.['velero.io/pvc-name'], p.status?.phase])).toEqual([
    [PVC, 'Completed'],
  ]);
  expect((await get('backups', 'good')).metadata.labels?.['velero.io/storage-location']).toBe('default');
});

test('a pod on a node that does not run: its PodVolumeBackup fails, the backup is PartiallyFailed via FinalizingPartiallyFailed', async () => {
  const pod = (
    await lab
      .kube()
      .get<{ items: { spec: { nodeName: string } }[] }>(
        `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dmysql`,
      )
  ).items[0]!;
  await lab.killall(pod.spec.nodeName);
  try {
    await backup('node-down');
    const seen = await phases('backups', 'node-down');
    expect(seen).toEqual(expect.arrayContaining(['FinalizingPartiallyFailed', 'PartiallyFailed']));
    expect((await get('backups', 'node-down')).status?.errors).toBe(1);
    const pvbs = await lab
      .kube()
      .get<{ items: VObj[] }>(`${V1}/podvolumebackups?labelSelector=velero.io%2Fbackup-name%3Dnode-down`);
    expect(pvbs.items[0]?.status).toMatchObject({
      phase: 'Failed',
      message: `daemonset pod not found in running state in node ${pod.spec.nodeName}`,
    });
  } finally {
    await lab.service(pod.spec.nodeName, 'start');
  }
});

test('Schedules run their cron (and lab.runSchedule); a bad cron fails validation', async () => {
  const sched = await get('schedules', 'velero-full-cluster');
  await lab.kube().call('POST', `${V1}/schedules`, {
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: { name: 'every', namespace: 'velero' },
    spec: {
      schedule: '@every 3s',
      template: { ...(sched.spec?.['template'] as object), includedNamespaces: ['velero'] },
    },
  });
  await lab.kube().call('POST', `${V1}/schedules`, {
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: { name: 'broken', namespace: 'velero' },
    spec: { schedule: '61 * * * *', template: {} },
  });
  const fired = await until(
    'a scheduled backup',
    async () => {
      const list = await lab
        .kube()
        .get<{ items: VObj[] }>(`${V1}/backups?labelSelector=velero.io%2Fschedule-name%3Devery`);
      return list.items[0];
    },
    30_000,
  );
  expect(fired.metadata.name).toMatch(/^every-\d{14}$/);
  expect((await get('schedules', 'every')).status).toMatchObject({ phase: 'Enabled' });
  expect((await get('schedules', 'every')).status?.lastBackup).toBeDefined();
  await lab.kube().mergePatch(`${V1}/schedules/every`, { spec: { paused: true } });
  expect((await get('schedules', 'broken')).status).toMatchObject({ phase: 'FailedValidation' });
  expect((await get('schedules', 'broken')).status?.validationErrors?.[0]).toMatch(/^invalid schedule: /);
  const manual = await lab.runSchedule();
  expect(manual).toMatch(/^velero-full-cluster-\d{14}$/);
  expect(await phases('backups', manual)).toContain('Completed');
});

test('restore results can be set: PartiallyFailed with errors, Failed', async () => {
  await restore('r-partial', 'good', { 'lab.rke2-ops.io/result': 'PartiallyFailed' });
  expect(await phases('restores', 'r-partial')).toEqual(
    expect.arrayContaining(['FinalizingPartiallyFailed', 'PartiallyFailed']),
  );
  expect((await get('restores', 'r-partial')).status?.errors).toBe(1);
  lab.setSettings({ veleroRestoreResult: 'Failed' });
  await restore('r-failed', 'good');
  expect(await phases('restores', 'r-failed')).toContain('Failed');
  lab.setSettings({});
});

test('PVC data: a restore into an existing PVC leaves the changed data; into a new PVC it brings back the backup', async () => {
  expect(await lab.readVolume(NS, PVC)).toEqual(DATABASE_CONTENT);
  const changed = { 'openedx.sql': '-- changed after the backup\n' };
  await lab.writeVolume(NS, PVC, changed, { replace: true });
  // Existing PVC (and pod): skipped, no PodVolumeRestore, data unchanged.
  await restore('r-existing', 'good');
  expect(await phases('restores', 'r-existing')).toContain('Completed');
  expect((await get('restores', 'r-existing')).status?.warnings).toBeGreaterThan(0);
  const none = await lab
    .kube()
    .get<{ items: VObj[] }>(`${V1}/podvolumerestores?labelSelector=velero.io%2Frestore-name%3Dr-existing`);
  expect(none.items).toHaveLength(0);
  expect(await lab.readVolume(NS, PVC)).toEqual(changed);
  // Delete the namespace (pods, PVC, and with reclaimPolicy Delete the volume), then restore.
  const s = await lab.shell(M0);
  await s.check(
    [
      '/var/lib/rancher/rke2/bin/kubectl',
      '--kubeconfig=/etc/rancher/rke2/rke2.yaml',
      'delete',
      'namespace',
      NS,
      '--timeout=90s',
    ],
    120_000,
  );
  await restore('r-new', 'good');
  expect(await phases('restores', 'r-new', 120_000)).toContain('Completed');
  const pvrs = await lab
    .kube()
    .get<{ items: VObj[] }>(`${V1}/podvolumerestores?labelSelector=velero.io%2Frestore-name%3Dr-new`);
  expect(pvrs.items.map((p) => p.status?.phase)).toEqual(['Completed']);
  expect(await lab.readVolume(NS, PVC)).toEqual(DATABASE_CONTENT);
});

test('backup sync: after an etcd restore to before a backup, the Backup object comes back from the bucket', async () => {
  const s = await lab.shell(M0);
  const saved = await s.run(['rke2', 'etcd-snapshot', 'save', '--name', 'before-backup']);
  const snap = /Snapshot (\S+) saved\./.exec(saved.stderr)?.[1];
  expect(snap).toBeDefined();
  await backup('after-snapshot');
  expect(await phases('backups', 'after-snapshot')).toContain('Completed');
  lab.setTiming({ backupSyncSec: 600 });
  await lab.killall(M0);
  const reset = await s.run([
    'rke2',
    'server',
    '--cluster-reset',
    '--etcd-s3=false',
    `--cluster-reset-restore-path=/var/lib/rancher/rke2/server/db/snapshots/${snap!}`,
  ]);
  expect(reset.code).toBe(0);
  await lab.service(M0, 'start', undefined, { wait: 'active' });
  // etcd holds no Backup "after-snapshot" any more...
  expect(await lab.kube().getOrNull(`${V1}/backups/after-snapshot`)).toBeNull();
  // ...until the sync finds it in the bucket.
  lab.setTiming({ backupSyncSec: 1 });
  const back = await until(
    'synced backup',
    () => lab.kube().getOrNull<VObj>(`${V1}/backups/after-snapshot`),
    60_000,
  );
  expect(back!.status?.phase).toBe('Completed');
  expect(back!.metadata.labels?.['velero.io/storage-location']).toBe('default');
});
