/**
 * Backup freshness core without S3: RKE2's snapshot names, ages, the configuration's errors
 * (each names its input), and the verdict from an in-memory object store (the lab test runs
 * it against real S3).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { BackupInputs, parseBackupConfig } from '../../src/backup/config.js';
import { checkBackupFreshness, formatAge, parseSnapshotKey } from '../../src/backup/freshness.js';
import type { ObjectStore, StoredObject } from '../../src/backup/objects.js';
import type { ToolCache } from '../../src/etcd/install.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ts = (hoursAgo: number) => Math.floor((NOW - hoursAgo * 3600_000) / 1000);

const base: Record<string, string> = {
  [BackupInputs.cluster]: 'prod-eu',
  [BackupInputs.rpo]: '2h',
  [BackupInputs.accessKey]: 'AKIA',
  [BackupInputs.secretKey]: 'very-secret-key',
  [BackupInputs.etcdBucket]: 'etcd-snapshots',
  [BackupInputs.etcdFolder]: 'prod-eu',
};
const config = (over: Record<string, string> = {}) =>
  parseBackupConfig((n) => ({ ...base, ...over })[n] ?? '');

function memoryStore(objects: Record<string, { size?: number; body?: string; at?: number }>): ObjectStore {
  return {
    async list(bucket, prefix) {
      return Object.entries(objects)
        .filter(([k]) => k.startsWith(`${bucket}/${prefix}`))
        .map(([k, v]): StoredObject => ({
          key: k.slice(bucket.length + 1),
          size: v.size ?? 10,
          ...(v.at ? { lastModified: new Date(v.at) } : {}),
        }));
    },
    async getText(bucket, key) {
      return objects[`${bucket}/${key}`]?.body ?? '';
    },
    async download(bucket, key, dest) {
      const o = objects[`${bucket}/${key}`];
      if (!o) throw new Error(`GET s3://${bucket}/${key}: NoSuchKey`);
      const body = o.body ?? 'x'.repeat(o.size ?? 10);
      await writeFile(dest, body);
      return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
    },
  };
}

const veleroJson = (name: string, phase: string, hoursAgo: number, schedule = 'daily') =>
  JSON.stringify({
    metadata: { name, labels: { 'velero.io/schedule-name': schedule } },
    status: { phase, completionTimestamp: new Date(NOW - hoursAgo * 3600_000).toISOString() },
  });

test('RKE2 snapshot names: node names with dashes, .zip, other names and metadata ignored', () => {
  expect(parseSnapshotKey(`f/etcd-snapshot-prod-eu-master-0-${ts(1)}.zip`, 'f', 'etcd-snapshot')).toEqual({
    file: `etcd-snapshot-prod-eu-master-0-${ts(1)}.zip`,
    node: 'prod-eu-master-0',
    takenAt: ts(1) * 1000,
  });
  expect(parseSnapshotKey(`f/.metadata/etcd-snapshot-m-${ts(1)}`, 'f', 'etcd-snapshot')).toBeUndefined();
  expect(parseSnapshotKey(`f/pre-upgrade-m-${ts(1)}`, 'f', 'etcd-snapshot')).toBeUndefined();
  expect(parseSnapshotKey(`g/etcd-snapshot-m-${ts(1)}`, 'f', 'etcd-snapshot')).toBeUndefined();
  expect(parseSnapshotKey(`etcd-snapshot-m-${ts(1)}`, '', 'etcd-snapshot')?.node).toBe('m');
});

test('ages read at a glance', () => {
  expect([formatAge(42), formatAge(610), formatAge(3 * 3600 + 300), formatAge(50 * 3600)]).toEqual([
    '42s',
    '10m 10s',
    '3h 5m',
    '2d 2h',
  ]);
});

test('configuration errors name the input; the secret key is registered when read', () => {
  expect(() => config({ [BackupInputs.rpo]: 'soon' })).toThrow(/^rpo: /);
  expect(() => config({ [BackupInputs.etcdFolder]: 'a/../b' })).toThrow(/^etcd-s3-folder: /);
  expect(() => config({ [BackupInputs.etcdBucket]: 'Bad_Bucket' })).toThrow(/^etcd-s3-bucket: /);
  expect(() => config({ [BackupInputs.endpoint]: 'host with space' })).toThrow(/^s3-endpoint: /);
  expect(() => config({ [BackupInputs.cluster]: '' })).toThrow(/^cluster: /);
  expect(config({ [BackupInputs.endpoint]: 'fsn1.your-objectstorage.com' }).s3).toMatchObject({
    endpoint: 'fsn1.your-objectstorage.com',
    insecure: false,
  });
  expect(config({ [BackupInputs.endpoint]: 'http://127.0.0.1:9000' }).s3).toMatchObject({
    endpoint: '127.0.0.1:9000',
    insecure: true,
  });
  expect(config({ [BackupInputs.region]: 'eu-central-1' }).s3.endpoint).toBe('s3.eu-central-1.amazonaws.com');
  expect(config({ [BackupInputs.checkVelero]: 'false' }).velero).toBeNull();
  // The restore drill is opt-in; its etcd release inputs are read only when it is on.
  expect(config({ [BackupInputs.etcdVersion]: 'latest' }).restoreDrill).toBeNull();
  expect(config({ [BackupInputs.restoreDrill]: 'true' }).restoreDrill).toEqual({
    etcd: { version: '3.6.16', baseUrl: 'https://github.com/etcd-io/etcd/releases/download' },
  });
  expect(() => config({ [BackupInputs.restoreDrill]: 'true', [BackupInputs.etcdVersion]: 'latest' })).toThrow(
    /^etcd-version: /,
  );
  expect(() =>
    config({ [BackupInputs.restoreDrill]: 'true', [BackupInputs.etcdDownloadBaseUrl]: 'file:///etc' }),
  ).toThrow(/^etcd-download-base-url: /);
  expect(() => config({ [BackupInputs.restoreDrill]: 'maybe' })).toThrow(/^restore-drill: /);
  const added: string[] = [];
  parseBackupConfig((n) => base[n] ?? '', { add: (s: string) => added.push(s) } as never);
  expect(added).toEqual(['very-secret-key']);
});

test('the newest of every node counts; Velero by schedule, newest first; a breach names its age', async () => {
  const store = memoryStore({
    [`etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-0-${ts(5)}`]: {},
    [`etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-1-${ts(3)}`]: {},
    [`etcd-snapshots/prod-eu/on-demand-prod-eu-master-0-${ts(0.1)}`]: {},
    [`etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-2-${ts(0.5)}`]: { size: 0 },
    'velero/backups/daily-1/velero-backup.json': {
      body: veleroJson('daily-1', 'Completed', 1),
      at: NOW - 3600_000,
    },
    'velero/backups/manual/velero-backup.json': {
      body: veleroJson('manual', 'Failed', 0.2, 'other'),
      at: NOW - 600_000,
    },
  });
  const r = await checkBackupFreshness(config({ [BackupInputs.veleroSchedule]: 'daily' }), {
    store,
    clock: { now: () => NOW },
  });
  expect(r.failedChecks).toEqual(['etcd-snapshot']);
  expect(r.etcd).toMatchObject({ node: 'prod-eu-master-1', count: 2, ageSeconds: 3 * 3600 });
  expect(r.checks[0]!.message).toContain('is 3h 0m old, older than the RPO 2h 0m');
  expect(r.velero).toMatchObject({ name: 'daily-1', phase: 'Completed', ageSeconds: 3600 });
  // Without the schedule filter the newest (a Failed manual backup) is the one that counts.
  const all = await checkBackupFreshness(config({ [BackupInputs.rpo]: '4h' }), {
    store,
    clock: { now: () => NOW },
  });
  expect(all.failedChecks).toEqual(['velero-backup']);
  expect(all.checks[1]!.message).toContain('manual is Failed, not Completed');
});

test('nothing there: both fail, saying where they looked', async () => {
  const r = await checkBackupFreshness(config(), { store: memoryStore({}), clock: { now: () => NOW } });
  expect(r.ok).toBe(false);
  expect(r.checks.map((c) => c.message)).toEqual([
    expect.stringContaining(
      'no scheduled etcd snapshot (etcd-snapshot-<node>-<time>) in s3://etcd-snapshots/prod-eu/',
    ),
    expect.stringContaining('no Velero backup in s3://velero/backups/'),
  ]);
});

test('restore drill: runs on the newest snapshot even when stale, fails naming the step, none without a snapshot', async () => {
  const drillConfig = config({ [BackupInputs.restoreDrill]: 'true', [BackupInputs.checkVelero]: 'false' });
  const store = memoryStore({
    [`etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-0-${ts(5)}`]: { body: 'not a bbolt file' },
  });
  let asked = 0;
  // A tool cache without etcd whose download fails: the drill's install step counts the asks.
  const toolCache = (failure: string) =>
    ({
      find: () => '',
      downloadTool: async () => {
        asked++;
        throw new Error(failure);
      },
    }) as unknown as ToolCache;
  const r = await checkBackupFreshness(drillConfig, {
    store,
    clock: { now: () => NOW },
    toolCache: toolCache('SHA256SUMS has no line for etcd-v3.6.16-linux-amd64.tar.gz'),
  });
  expect(asked).toBe(1);
  expect(r.checks.map((c) => [c.name, c.status])).toEqual([
    ['etcd-snapshot', 'fail'],
    ['etcd-restore-drill', 'fail'],
  ]);
  expect(r.checks[1]!.message).toMatch(
    /^restore drill of etcd-snapshot-prod-eu-master-0-\d+: cannot install etcd's tools: SHA256SUMS has no line/,
  );
  expect(r.restoreDrill).toMatchObject({
    size: 16,
    sha256: createHash('sha256').update('not a bbolt file').digest('hex'),
  });
  // No snapshot: nothing to drill, and the tools are not even installed.
  const none = await checkBackupFreshness(drillConfig, {
    store: memoryStore({}),
    clock: { now: () => NOW },
    toolCache: toolCache('not called'),
  });
  expect(asked).toBe(1);
  expect(none.checks.map((c) => c.name)).toEqual(['etcd-snapshot']);
  expect(none.restoreDrill).toBeNull();
  // A download that fails is the drill's failure, naming the object.
  const broken = memoryStore({ [`etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-0-${ts(1)}`]: {} });
  const r2 = await checkBackupFreshness(drillConfig, {
    store: { ...broken, download: async () => Promise.reject(new Error('connection reset')) },
    clock: { now: () => NOW },
    toolCache: toolCache('unused'),
  });
  expect(r2.failedChecks).toEqual(['etcd-restore-drill']);
  expect(r2.verdict).toMatch(/^backups of prod-eu are fresh but the newest snapshot does not restore: /);
  expect(r.verdict).toMatch(/^backups of prod-eu breach the RPO 2h 0m: /);
  expect(r2.checks[1]!.message).toContain(
    'cannot download s3://etcd-snapshots/prod-eu/etcd-snapshot-prod-eu-master-0-',
  );
});
