/**
 * Backup freshness (src/backup) against a 1-master lab's S3 (s3rver, @aws-sdk/client-s3): the
 * masters' scheduled etcd snapshots (RKE2's names and folder) and the Velero controller's
 * backups (velero-backup.json in its bucket). A snapshot taken longer ago than the RPO (its
 * time set back) fails naming its age; a fresh one passes; a PartiallyFailed newest Velero
 * backup fails; an unreachable store is a failing report, not a throw. The report is one the
 * incident capability accepts. One lab for the file; the tests run in order.
 */
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdReleaseServer } from '../helpers/etcd-release-server.js';
import { createLab, type Lab } from './lab.js';
import { BackupInputs, parseBackupConfig, type BackupFreshnessConfig } from '../../src/backup/config.js';
import { checkBackupFreshness, type BackupFreshnessReport } from '../../src/backup/freshness.js';
import { s3ObjectStore, type ObjectStore } from '../../src/backup/objects.js';
import { parseReport } from '../../src/incident/envelope.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { systemClock } from '../../src/lib/clock.js';

jest.setTimeout(300_000);

const NAME = 'flow-backup';
let lab: Lab;
let store: ObjectStore & { close(): void };
let config: BackupFreshnessConfig;
const secrets = new SecretRegistry();

/**
 * `rke2-ops backup-freshness` against the lab's stores, S3 keys in the environment. Not
 * spawnSync: a release server the drill downloads from answers from this process's event loop.
 */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [
    join(new URL('../..', import.meta.url).pathname, 'bin/rke2-ops.js'),
    'backup-freshness',
    '--cluster',
    NAME,
    '--s3-endpoint',
    lab.s3.endpoint,
    '--s3-insecure',
    '--etcd-bucket',
    lab.s3.bucket,
    '--etcd-folder',
    lab.s3.folder,
    '--velero-bucket',
    lab.veleroBucket,
    ...args,
  ];
  const fullEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: lab.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: lab.s3.secretAccessKey,
    ...env,
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { env: fullEnv, encoding: 'utf8', timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const check = (): Promise<BackupFreshnessReport> =>
  checkBackupFreshness(config, { store, clock: systemClock, secrets });
const byName = (r: BackupFreshnessReport, name: string) => r.checks.find((c) => c.name === name);

/** Fires the Velero schedule and waits until the backup's final status is in its bucket. */
async function veleroBackup(): Promise<string> {
  const name = await lab.runSchedule();
  const key = `backups/${name}/velero-backup.json`;
  for (let i = 0; i < 120; i++) {
    if ((await store.list(lab.veleroBucket, `backups/${name}/`)).some((o) => o.key === key)) return name;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Velero backup ${name} did not finish`);
}

beforeAll(async () => {
  lab = await createLab({ masters: 1, workers: 0, name: NAME, scenario: 'healthy', timing: 'fast' });
  const inputs: Record<string, string> = {
    [BackupInputs.cluster]: NAME,
    [BackupInputs.rpo]: '1h',
    [BackupInputs.endpoint]: lab.s3.endpoint,
    [BackupInputs.insecure]: 'true',
    [BackupInputs.region]: lab.s3.region,
    [BackupInputs.accessKey]: lab.s3.accessKeyId,
    [BackupInputs.secretKey]: lab.s3.secretAccessKey,
    [BackupInputs.etcdBucket]: lab.s3.bucket,
    [BackupInputs.etcdFolder]: lab.s3.folder,
    [BackupInputs.veleroBucket]: lab.veleroBucket,
    [BackupInputs.veleroSchedule]: 'velero-full-cluster',
  };
  config = parseBackupConfig((n) => inputs[n] ?? '', secrets);
  store = s3ObjectStore(config.s3, secrets);
});
afterAll(async () => {
  store?.close();
  await lab?.destroy();
});

test('a scheduled snapshot older than the RPO (its time set 3 h back) fails naming its age', async () => {
  const taken = await lab.scheduledSnapshots({ at: new Date(Date.now() - 3 * 3600 * 1000) });
  expect(taken.flatMap((t) => t.failed)).toEqual([]);
  const backup = await veleroBackup();
  const r = await check();
  expect(r.ok).toBe(false);
  expect(r.failedChecks).toEqual(['etcd-snapshot']);
  expect(byName(r, 'etcd-snapshot')?.message).toMatch(
    new RegExp(
      `^newest scheduled snapshot etcd-snapshot-${NAME}-master-0-\\d+ is 3h 0m old, older than the RPO 1h 0m`,
    ),
  );
  expect(byName(r, 'velero-backup')).toMatchObject({ status: 'pass' });
  expect(r.velero).toMatchObject({ name: backup, phase: 'Completed', schedule: 'velero-full-cluster' });
  // The incident capability reads it: one failure row, the check and its message.
  const subject = parseReport(JSON.stringify(r), 'report');
  expect(subject).toMatchObject({ kind: 'backup-freshness', cluster: NAME, ok: false });
  expect(subject.failures.map((f) => f.check)).toEqual(['etcd-snapshot']);
});

test('a fresh scheduled snapshot passes (the newest counts, whichever node)', async () => {
  await lab.scheduledSnapshots();
  const r = await check();
  expect(r.checks.map((c) => [c.name, c.status])).toEqual([
    ['etcd-snapshot', 'pass'],
    ['velero-backup', 'pass'],
  ]);
  expect(r.ok).toBe(true);
  expect(r.etcd?.ageSeconds).toBeLessThan(600);
  expect(r.etcd?.count).toBeGreaterThanOrEqual(2);
});

test('the CLI: the same core from a laptop - 0 fresh, 1 breached, 2 bad input naming the flag', async () => {
  const fresh = await cli(['--rpo', '1h']);
  expect({ code: fresh.code, out: fresh.stdout }).toEqual({
    code: 0,
    out: expect.stringContaining('PASS etcd-snapshot: newest scheduled snapshot'),
  });
  // The newest snapshot is a second or two old: older than an RPO of 1 s once 2 s have passed.
  await new Promise((r) => setTimeout(r, 2000));
  const breached = await cli(['--rpo', '1s', '--no-velero', '--json']);
  expect(breached.code).toBe(1);
  expect(JSON.parse(breached.stdout)).toMatchObject({ ok: false, failedChecks: ['etcd-snapshot'] });
  const bad = await cli(['--rpo', 'soon']);
  expect({ code: bad.code, err: bad.stderr }).toEqual({ code: 2, err: expect.stringContaining('--rpo: ') });
});

test('the CLI restore drill: etcd tools from the release server into a tool cache, the newest snapshot restored', async () => {
  const etcd = await startEtcdReleaseServer();
  const cache = mkdtempSync(join(tmpdir(), 'drill-tc-'));
  try {
    const run = await cli(
      ['--no-velero', '--restore-drill', '--etcd-download-base-url', etcd.baseUrl, '--json'],
      { RKE2OPS_TOOL_CACHE: cache },
    );
    expect({ code: run.code, err: run.stderr.slice(-2000) }).toEqual({ code: 0, err: expect.any(String) });
    const r = JSON.parse(run.stdout) as BackupFreshnessReport;
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([
      ['etcd-snapshot', 'pass'],
      ['etcd-restore-drill', 'pass'],
    ]);
    expect(r.restoreDrill).toMatchObject({
      snapshot: r.etcd!.name,
      etcd: { version: etcd.version, source: 'download' },
      counts: { nodes: 1 },
    });
    expect(r.restoreDrill!.totalKey).toBeGreaterThan(100);
    expect(run.stdout + run.stderr).not.toContain(lab.s3.secretAccessKey);
  } finally {
    await etcd.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a newest Velero backup that only PartiallyFailed fails, naming it and its phase', async () => {
  lab.setSettings({ veleroResult: 'PartiallyFailed' });
  try {
    const backup = await veleroBackup();
    const r = await check();
    expect(r.failedChecks).toEqual(['velero-backup']);
    expect(byName(r, 'velero-backup')?.message).toContain(`${backup} is PartiallyFailed, not Completed`);
  } finally {
    lab.setSettings({});
  }
  await veleroBackup();
  expect((await check()).ok).toBe(true);
});

test('an unreachable store is a failing report naming where, never a throw or a secret', async () => {
  await lab.s3Down();
  try {
    const r = await check();
    expect(r.ok).toBe(false);
    expect(r.failedChecks).toEqual(['etcd-snapshot', 'velero-backup']);
    expect(byName(r, 'etcd-snapshot')?.message).toMatch(/^cannot list s3:\/\//);
    expect(JSON.stringify(r)).not.toContain(lab.s3.secretAccessKey);
  } finally {
    await lab.s3Up();
  }
});
