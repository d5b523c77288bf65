/**
 * backup.yml run for real: the README's calling workflow in a consumer repository, run by
 * nektos/act on its `schedule` event, calling rke2-ops/ops/.github/workflows/backup.yml@v1
 * (this checkout's workflows and bundles) against a 1-master lab's S3 (the masters' scheduled
 * etcd snapshots, the Velero controller's backups) with the GitHub REST stand-in. One lab for
 * the file; in order: a snapshot taken longer ago than the RPO fails the run naming its age and
 * opens one issue; a fresh scheduled snapshot passes and closes it; the daily schedule's restore
 * drill (etcd's tools from a local release server, as from GitHub) restores the newest snapshot
 * and passes; the same snapshot replaced in S3 by same-size garbage - fresh, but no recovery
 * point - fails the drill and opens the issue again.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from '../lab/lab.js';
import { startGitHubApi, type GitHubApiStandIn, type StoredIssue } from '../helpers/github-api.js';
import { describeRun, makeRepository, removeThrowaway, runAct, type ActRun } from '../helpers/act.js';
import { readmeWorkflows } from '../workflows/contracts.js';
import { startEtcdReleaseServer, type EtcdReleaseServer } from '../helpers/etcd-release-server.js';
import { randomBytes } from 'node:crypto';
import { S3Client, GetObjectCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

jest.setTimeout(300_000);

const NAME = 'flow-backup-act';
const LABEL = `rke2-ops:backup-freshness:${NAME}`;
const JOB = `/backup freshness (${NAME})`;

let lab: Lab;
let api: GitHubApiStandIn;
let consumer: string;
let etcd: EtcdReleaseServer;
let runs = 0;
const DAILY = '47 3 * * *';

/** The README's caller, pointed at the lab: its name, its S3 (plain http) and buckets. */
function caller(): string {
  const block = readmeWorkflows().find((b) => b.name === '.github/workflows/backup.yml');
  if (!block) throw new Error('README.md has no calling workflow for backup.yml');
  const set = (text: string, key: string, value: string) => {
    const re = new RegExp(`^( +)${key}: .*$`, 'm');
    if (!re.test(text)) throw new Error(`the README caller has no ${key}`);
    return text.replace(re, `$1${key}: '${value}'`);
  };
  let text = block.text.replaceAll('prod-eu', NAME);
  text = set(text, 'rpo', '1h');
  text = set(text, 's3-endpoint', lab.s3.endpoint).replace(
    /^( +)s3-endpoint: .*$/m,
    '$&\n$1s3-insecure: true',
  );
  text = set(text, 'etcd-s3-bucket', lab.s3.bucket);
  text = set(text, 'etcd-s3-folder', lab.s3.folder);
  text = set(text, 'velero-bucket', lab.veleroBucket);
  // etcd's tools from the local release server instead of GitHub (the only change for the drill).
  text = text.replace(/^( +)restore-drill: .*$/m, `$&\n$1etcd-download-base-url: '${etcd.baseUrl}'`);
  return set(text, 'velero-prefix', '');
}

async function scheduled(schedule = '23 * * * *'): Promise<ActRun> {
  runs += 1;
  return runAct({
    repo: consumer,
    workflow: '.github/workflows/backup.yml',
    event: 'schedule',
    payload: { schedule },
    secrets: {
      GITHUB_TOKEN: api.token,
      PROD_EU_S3_READ_ACCESS_KEY: lab.s3.accessKeyId,
      PROD_EU_S3_READ_SECRET_KEY: lab.s3.secretAccessKey,
    },
    apiUrl: api.url,
    runId: 9000 + runs,
  });
}

/** Fires the Velero schedule and waits until the backup's final status is in its bucket. */
async function veleroBackup(): Promise<void> {
  const name = await lab.runSchedule();
  const kube = lab.kube();
  for (let i = 0; i < 120; i++) {
    const b = await kube.get<{ status?: { phase?: string } }>(
      `/apis/velero.io/v1/namespaces/velero/backups/${name}`,
    );
    if (b.status?.phase === 'Completed') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Velero backup ${name} did not complete`);
}

const incidents = (): StoredIssue[] => [...api.issues.values()].filter((i) => i.labels.includes(LABEL));

beforeAll(async () => {
  [lab, api, etcd] = await Promise.all([
    createLab({ masters: 1, workers: 0, name: NAME, scenario: 'healthy', timing: 'fast' }),
    startGitHubApi(),
    startEtcdReleaseServer(),
  ]);
  consumer = makeRepository({ '.github/workflows/backup.yml': caller() }, { repository: 'acme/ops' });
  await veleroBackup();
});
afterAll(async () => {
  await Promise.all([lab?.destroy(), api?.close(), etcd?.close()]);
  removeThrowaway();
});

test('a scheduled snapshot older than the RPO fails the run naming its age and opens one issue', async () => {
  await lab.scheduledSnapshots({ at: new Date(Date.now() - 3 * 3600 * 1000) });
  const run = await scheduled();
  expect(run.code).not.toBe(0);
  expect(run.job(JOB)?.result).toBe('failure');
  const freshness = run.step(JOB, 'freshness');
  expect(freshness?.outcome).toBe('failure');
  expect(freshness?.outputs).toMatchObject({ ok: 'false', 'failed-checks': '["etcd-snapshot"]' });
  expect(Number(freshness?.outputs['etcd-snapshot-age-seconds'])).toBeGreaterThanOrEqual(3 * 3600);
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('opened');
  const [issue] = incidents();
  expect(incidents()).toHaveLength(1);
  expect(issue!.body).toMatch(
    /etcd-snapshot-flow-backup-act-master-0-\d+ is 3h 0m old, older than the RPO 1h 0m/,
  );
  expect(issue!.body).not.toContain(lab.s3.secretAccessKey);
  // Stale backups are not a reason to roll back: the issue says so instead of giving the command.
  expect(issue!.body).not.toContain('gh workflow run rollback.yml');
  expect(issue!.body).toContain('Not a reason to roll back');
});

test('a fresh scheduled snapshot passes and closes the issue', async () => {
  await lab.scheduledSnapshots();
  const run = await scheduled();
  if (run.code !== 0) throw new Error(describeRun(run, 80));
  expect(run.step(JOB, 'freshness')?.outputs.ok).toBe('true');
  // The hourly schedule checks freshness only: no drill, no etcd download.
  expect(run.step(JOB, 'freshness')?.outputs['restore-drill']).toBe('');
  expect(etcd.requests).toEqual([]);
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('closed');
  expect(incidents().map((i) => i.state)).toEqual(['closed']);
});

function s3(): S3Client {
  return new S3Client({
    endpoint: `http://${lab.s3.endpoint}`,
    region: lab.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: lab.s3.accessKeyId, secretAccessKey: lab.s3.secretAccessKey },
  });
}

/** The newest scheduled snapshot's key in the lab's S3 (RKE2's name ends in its unix time). */
async function newestSnapshotKey(client: S3Client): Promise<string> {
  const r = await client.send(
    new ListObjectsV2Command({ Bucket: lab.s3.bucket, Prefix: `${lab.s3.folder}/etcd-snapshot-` }),
  );
  const keys = (r.Contents ?? []).map((o) => o.Key!);
  const time = (k: string) => Number(/-(\d+)(\.zip)?$/.exec(k)?.[1] ?? 0);
  return keys.sort((a, b) => time(b) - time(a))[0]!;
}

test("the daily schedule's restore drill restores the newest snapshot on the runner and passes", async () => {
  const run = await scheduled(DAILY);
  if (run.code !== 0) throw new Error(describeRun(run, 80));
  const freshness = run.step(JOB, 'freshness');
  expect(freshness?.outputs).toMatchObject({ ok: 'true', 'restore-drill': 'passed' });
  const report = JSON.parse(freshness!.outputs.report!) as {
    checks: { name: string; status: string; message: string }[];
    restoreDrill: { counts: { nodes: number; namespaces: number }; sha256: string; etcd: { source: string } };
  };
  expect(report.checks.map((c) => [c.name, c.status])).toEqual([
    ['etcd-snapshot', 'pass'],
    ['etcd-restore-drill', 'pass'],
    ['velero-backup', 'pass'],
  ]);
  // The restored data is the lab's cluster: its one Node and at least the four standard namespaces.
  expect(report.restoreDrill.counts.nodes).toBe(1);
  expect(report.restoreDrill.counts.namespaces).toBeGreaterThanOrEqual(4);
  // etcd's tools came from the release server, its SHA256SUMS first (the install verifies).
  expect(etcd.requests).toEqual([
    `/v${etcd.version}/SHA256SUMS`,
    `/v${etcd.version}/etcd-v${etcd.version}-linux-amd64.tar.gz`,
  ]);
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('none');
});

test('a fresh snapshot replaced in S3 by same-size garbage fails the drill and opens the issue', async () => {
  const client = s3();
  try {
    const key = await newestSnapshotKey(client);
    const original = Buffer.from(
      await (
        await client.send(new GetObjectCommand({ Bucket: lab.s3.bucket, Key: key }))
      ).Body!.transformToByteArray(),
    );
    await client.send(
      new PutObjectCommand({ Bucket: lab.s3.bucket, Key: key, Body: randomBytes(original.length) }),
    );
    const run = await scheduled(DAILY);
    expect(run.code).not.toBe(0);
    const freshness = run.step(JOB, 'freshness');
    expect(freshness?.outcome).toBe('failure');
    // Fresh, so only the drill fails.
    expect(freshness?.outputs).toMatchObject({
      ok: 'false',
      'restore-drill': 'failed',
      'failed-checks': '["etcd-restore-drill"]',
    });
    expect(run.step(JOB, 'incident')?.outputs.action).toBe('opened');
    const open = incidents().filter((i) => i.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]!.body).toContain(
      `restore drill of ${key.split('/').pop()} failed - this recovery point cannot be restored`,
    );
    expect(open[0]!.body).toContain('are fresh but the newest snapshot does not restore');
    expect(open[0]!.body).toContain('Not a reason to roll back');
    expect(open[0]!.body).not.toContain(lab.s3.secretAccessKey);
  } finally {
    client.destroy();
  }
});
