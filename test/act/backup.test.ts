/**
 * backup.yml run for real: the README's calling workflow in a consumer repository, run by
 * nektos/act on its `schedule` event, calling rke2-ops/ops/.github/workflows/backup.yml@v1
 * (this checkout's workflows and bundles) against a 1-master lab's S3 (the masters' scheduled
 * etcd snapshots, the Velero controller's backups) with the GitHub REST stand-in. One lab for
 * the file; in order: a snapshot taken longer ago than the RPO fails the run naming its age and
 * opens one issue; a fresh scheduled snapshot passes and closes it.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from '../lab/lab.js';
import { startGitHubApi, type GitHubApiStandIn, type StoredIssue } from '../helpers/github-api.js';
import { describeRun, makeRepository, removeThrowaway, runAct, type ActRun } from '../helpers/act.js';
import { readmeWorkflows } from '../workflows/contracts.js';

jest.setTimeout(300_000);

const NAME = 'flow-backup-act';
const LABEL = `rke2-ops:backup-freshness:${NAME}`;
const JOB = `/backup freshness (${NAME})`;

let lab: Lab;
let api: GitHubApiStandIn;
let consumer: string;
let runs = 0;

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
  return set(text, 'velero-prefix', '');
}

async function scheduled(): Promise<ActRun> {
  runs += 1;
  return runAct({
    repo: consumer,
    workflow: '.github/workflows/backup.yml',
    event: 'schedule',
    payload: { schedule: '23 * * * *' },
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
  [lab, api] = await Promise.all([
    createLab({ masters: 1, workers: 0, name: NAME, scenario: 'healthy', timing: 'fast' }),
    startGitHubApi(),
  ]);
  consumer = makeRepository({ '.github/workflows/backup.yml': caller() }, { repository: 'acme/ops' });
  await veleroBackup();
});
afterAll(async () => {
  await Promise.all([lab?.destroy(), api?.close()]);
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
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('closed');
  expect(incidents().map((i) => i.state)).toEqual(['closed']);
});
