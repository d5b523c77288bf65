/**
 * upgrade.yml and rollback.yml run for real: the README's calling workflows in a consumer
 * repository whose `envs/<cluster>` holds test/tofu/lab-upgrade (each node's terraform_data
 * installs the reviewed rke2_version over SSH, as module/upgrade.tf does), run by nektos/act,
 * calling rke2-ops/ops/.github/workflows/{upgrade,rollback}.yml@v1 (this checkout's workflows
 * and bundles) against a 1+1 lab, its S3, real tofu (local state kept outside the checkout) and
 * the GitHub REST stand-in. upgrade.yml on a push to main: plan -> plan again after the approval
 * -> the snapshot action (verified at the s3 level) -> tofu apply of that saved plan -> health
 * check at the new version -> the incident action. rollback.yml on a workflow_dispatch with the
 * fields the incident issue gives. One lab for the file; in order, each test changes the story:
 *
 *   v1.34.4 -> v1.34.6 (good): snapshot verified, applied, healthy at v1.34.6, no issue;
 *   S3 refusing the key, -> v1.34.7: the snapshot is not verified, nothing is applied;
 *   S3 back, -> v1.34.7 (bad: CoreDNS crashes): applied, the health check fails, and the
 *   incident issue names the verified snapshot and the exact rollback dispatch;
 *   that dispatch: its dry run changes nothing; with a wrong confirm nothing is contacted; as
 *   given, the nodes are back at v1.34.6 with the snapshot's data, healthy, the issue closed.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '../lab/lab.js';
import { BAD_VERSION, BASE_VERSION, defaultReleaseTable } from '../lab/release-table.js';
import { startGitHubApi, type GitHubApiStandIn, type StoredIssue } from '../helpers/github-api.js';
import { describeRun, makeRepository, removeThrowaway, runAct, type ActRun } from '../helpers/act.js';
import { findTofu, tofuSync } from '../helpers/tofu.js';
import { readmeWorkflows } from '../workflows/contracts.js';

jest.setTimeout(300_000);

const root = new URL('../..', import.meta.url).pathname;
const NAME = 'flow2-up';
const LABEL = `rke2-ops:health-check:${NAME}`;
const PLAN_JOB = `/plan (${NAME})`;
const JOB = `/upgrade (${NAME})`;
const GOOD_VERSION = 'v1.34.6+rke2r1';
/** Bad like the lab's BAD_VERSION (CoreDNS crashes), but newer than GOOD_VERSION. */
const NEWER_BAD_VERSION = 'v1.34.7+rke2r1';
const tool = findTofu();

let lab: Lab;
let api: GitHubApiStandIn;
let consumer: string;
let work: string;
let runs = 0;
/** Set by the bad upgrade: its incident issue and the verified snapshot it names. */
let badIssue: StoredIssue | undefined;
let preUpgrade = '';

const stateFile = () => join(work, 'terraform.tfstate');

/** The README's caller, pointed at the lab: its name, the state's path, short health polls. */
function caller(): string {
  const block = readmeWorkflows().find((b) => b.name === '.github/workflows/upgrade.yml');
  if (!block) throw new Error('README.md has no calling workflow for upgrade.yml');
  const text = block.text
    .replaceAll('prod-eu', NAME)
    .replace(
      /^( +)health-timeout: 10m$/m,
      `$1health-timeout: 10s\n$1poll-interval: 1s\n$1backend-config: path=${stateFile()}`,
    );
  if (!text.includes('poll-interval: 1s'))
    throw new Error('the README caller no longer sets health-timeout: 10m');
  return text;
}

/** The README's rollback caller as a consumer copies it: only the health polls shortened. */
function rollbackCaller(): string {
  const block = readmeWorkflows().find((b) => b.name === '.github/workflows/rollback.yml');
  if (!block) throw new Error('README.md has no calling workflow for rollback.yml');
  const text = block.text.replace(
    /^( +)velero-namespaces: \$\{\{ inputs\.velero-namespaces \}\}$/m,
    '$&\n$1health-timeout: 60s\n$1poll-interval: 1s',
  );
  if (!text.includes('poll-interval: 1s'))
    throw new Error('the README rollback caller has no velero-namespaces line');
  return text;
}

/** The configuration's variables as a repository keeps them: the lab's nodes and a version. */
function tfvars(version: string): string {
  const node = (n: { name: string; address: string; host_keys: string[] }) => ({
    name: n.name,
    address: n.address,
    host_key: n.host_keys[0],
  });
  return `${JSON.stringify(
    {
      cluster_name: NAME,
      rke2_version: version,
      ssh_port: lab.inventory.ssh.port,
      ssh_private_key_file: lab.privateKeyPath,
      masters: lab.inventory.masters.map(node),
      workers: lab.inventory.workers.map(node),
    },
    null,
    2,
  )}\n`;
}

/** A merged pull request: the new rke2_version committed on main. */
function merge(version: string): void {
  writeFileSync(join(consumer, `envs/${NAME}/terraform.tfvars.json`), tfvars(version));
  execFileSync('git', ['commit', '-q', '--no-gpg-sign', '-am', `rke2 ${version}`], {
    cwd: consumer,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'rke2-ops tests',
      GIT_AUTHOR_EMAIL: 'tests@rke2-ops.invalid',
      GIT_COMMITTER_NAME: 'rke2-ops tests',
      GIT_COMMITTER_EMAIL: 'tests@rke2-ops.invalid',
    },
  });
}

/** The push of that merge (a new run id each time, as GitHub gives). */
async function pushed(): Promise<ActRun> {
  runs += 1;
  return runAct({
    repo: consumer,
    workflow: '.github/workflows/upgrade.yml',
    event: 'push',
    payload: { ref: 'refs/heads/main', repository: { full_name: 'acme/ops' } },
    secrets: {
      GITHUB_TOKEN: api.token,
      PROD_EU_SSH_KEY: lab.privateKey,
      PROD_EU_S3_ACCESS_KEY: lab.s3.accessKeyId,
      PROD_EU_S3_SECRET_KEY: lab.s3.secretAccessKey,
    },
    vars: { PROD_EU_INVENTORY: JSON.stringify(lab.inventory) },
    apiUrl: api.url,
    runId: 9400 + runs,
    timeoutMs: 240_000,
  });
}

/** A dispatch of the consumer's rollback workflow, as `gh workflow run rollback.yml -f ...` makes it. */
async function dispatched(inputs: Record<string, string>): Promise<ActRun> {
  runs += 1;
  return runAct({
    repo: consumer,
    workflow: '.github/workflows/rollback.yml',
    event: 'workflow_dispatch',
    inputs,
    secrets: {
      GITHUB_TOKEN: api.token,
      PROD_EU_SSH_KEY: lab.privateKey,
      PROD_EU_S3_ACCESS_KEY: lab.s3.accessKeyId,
      PROD_EU_S3_SECRET_KEY: lab.s3.secretAccessKey,
    },
    vars: { PROD_EU_INVENTORY: JSON.stringify(lab.inventory) },
    apiUrl: api.url,
    runId: 9400 + runs,
    timeoutMs: 240_000,
  });
}

/**
 * The `-f name=value` fields of the issue's rollback command: the real one, or the dry run
 * given before it (values are plain words here, so the issue prints them unquoted).
 */
function dispatchFields(body: string, which: 'rollback' | 'dry-run'): Record<string, string> {
  const line = body
    .split('\n')
    .find(
      (l) =>
        l.startsWith('gh workflow run rollback.yml ') && l.includes('dry-run=') === (which === 'dry-run'),
    );
  if (!line) throw new Error(`no ${which} command in the issue:\n${body}`);
  return Object.fromEntries([...line.matchAll(/-f ([\w-]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** What each node runs: `rke2 --version` over SSH. */
async function nodeVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of lab.state.nodes) {
    const r = await (await lab.shell(n.name)).exec('/usr/local/bin/rke2 --version');
    out[n.name] = /rke2 version (\S+)/.exec(r.stdout)?.[1] ?? `? ${r.stdout}${r.stderr}`;
  }
  return out;
}

const everyNodeAt = (version: string) => Object.fromEntries(lab.state.nodes.map((n) => [n.name, version]));
const incidents = (): StoredIssue[] => [...api.issues.values()].filter((i) => i.labels.includes(LABEL));
const writes = () => api.calls.filter((c) => c.method !== 'GET');

beforeAll(async () => {
  if ('missing' in tool) throw new Error(`tofu is needed: ${tool.missing}`);
  const table = defaultReleaseTable();
  table.versions[NEWER_BAD_VERSION] = { ...table.versions[BAD_VERSION]! };
  [lab, api] = await Promise.all([
    createLab({
      masters: 1,
      workers: 1,
      name: NAME,
      scenario: 'healthy',
      timing: 'fast',
      releaseTable: table,
    }),
    startGitHubApi(),
  ]);
  work = mkdtempSync(join(tmpdir(), 'rke2ops-act-upgrade-'));
  const config = readFileSync(join(root, 'test/tofu/lab-upgrade/main.tf'), 'utf8');
  consumer = makeRepository(
    {
      '.github/workflows/upgrade.yml': caller(),
      '.github/workflows/rollback.yml': rollbackCaller(),
      [`envs/${NAME}/main.tf`]: config,
      [`envs/${NAME}/terraform.tfvars.json`]: tfvars(BASE_VERSION),
    },
    { repository: 'acme/ops' },
  );
  // The cluster as the repository describes it before the first upgrade: its state applied at
  // the version the nodes run (each node's script finds it there and changes nothing).
  const seed = join(work, 'seed');
  execFileSync('cp', ['-r', join(consumer, 'envs', NAME), seed]);
  tofuSync(tool, seed, ['init', '-input=false', '-no-color', `-backend-config=path=${stateFile()}`]);
  tofuSync(tool, seed, ['apply', '-auto-approve', '-input=false', '-no-color']);
});
afterAll(async () => {
  await Promise.all([lab?.destroy(), api?.close()]);
  removeThrowaway();
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`a good upgrade (${BASE_VERSION} -> ${GOOD_VERSION}): verified snapshot, the reviewed plan applied, healthy at the new version, no issue`, async () => {
  merge(GOOD_VERSION);
  const run = await pushed();
  if (run.code !== 0) throw new Error(describeRun(run, 120));
  expect(run.job(PLAN_JOB)?.result).toBe('success');
  expect(run.step(PLAN_JOB, 'plan')?.outputs).toMatchObject({
    'rke2-upgrade': 'true',
    'rke2-version-from': BASE_VERSION,
    'rke2-version-to': GOOD_VERSION,
  });
  expect(run.job(JOB)?.result).toBe('success');
  const snapshot = run.step(JOB, 'snapshot');
  expect(snapshot?.outcome).toBe('success');
  expect(snapshot?.outputs).toMatchObject({ verified: 'true', 'rke2-version': BASE_VERSION });
  expect(snapshot?.outputs.snapshot).toMatch(new RegExp(`^pre-upgrade-.*-${NAME}-master-0-\\d+`));
  expect(snapshot?.outputs['s3-key']).toBe(`${lab.s3.folder}/${snapshot?.outputs.snapshot}`);
  // The applied plan is the reviewed one (the plan job's hash, checked by the apply).
  expect(run.step(JOB, 'plan')?.outputs['resource-changes-hash']).toBe(
    run.step(PLAN_JOB, 'plan')?.outputs['resource-changes-hash'],
  );
  expect(run.step(JOB, 'apply')?.outputs.applied).toBe('true');
  const health = run.step(JOB, 'health');
  expect({ outcome: health?.outcome, healthy: health?.outputs.healthy }).toEqual({
    outcome: 'success',
    healthy: 'true',
  });
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('none');
  expect(await nodeVersions()).toEqual(everyNodeAt(GOOD_VERSION));
  expect(writes()).toEqual([]);
  // The keys reached the actions, never the log.
  expect(run.log).not.toContain(lab.s3.secretAccessKey);
  expect(run.log).not.toContain('PRIVATE KEY');
});

test('with S3 refusing the key the snapshot is not verified and nothing is applied', async () => {
  merge(NEWER_BAD_VERSION);
  const stateBefore = readFileSync(stateFile(), 'utf8');
  // The lab's key revoked at its S3 server (403): the port stays taken, so no other lab's S3
  // server on this machine can answer in its place (as one could while it is down).
  await lab.applyScenario('s3-bad-credentials');
  let run: ActRun;
  try {
    run = await pushed();
  } finally {
    await lab.clearScenario('s3-bad-credentials');
  }
  expect(run.code).not.toBe(0);
  if (run.job(JOB)?.result !== 'failure') throw new Error(describeRun(run, 120));
  const snapshot = run.step(JOB, 'snapshot');
  expect({ outcome: snapshot?.outcome, verified: snapshot?.outputs.verified }).toEqual({
    outcome: 'failure',
    verified: 'false',
  });
  for (const id of ['apply', 'health', 'incident'])
    expect(run.step(JOB, id)?.outcome ?? 'skipped').toBe('skipped');
  expect(await nodeVersions()).toEqual(everyNodeAt(GOOD_VERSION));
  expect(readFileSync(stateFile(), 'utf8')).toBe(stateBefore);
  expect(writes()).toEqual([]);
});

test(`a bad upgrade (-> ${NEWER_BAD_VERSION}): the health check fails and the issue names the verified snapshot and the rollback dispatch`, async () => {
  // The same commit, run again once S3 is back (a re-run of the failed workflow).
  const run = await pushed();
  expect(run.code).not.toBe(0);
  if (run.job(JOB)?.result !== 'failure') throw new Error(describeRun(run, 120));
  const snapshot = run.step(JOB, 'snapshot');
  expect(snapshot?.outputs).toMatchObject({ verified: 'true', 'rke2-version': GOOD_VERSION });
  const name = snapshot!.outputs.snapshot!;
  preUpgrade = name;
  expect(run.step(JOB, 'apply')?.outputs.applied).toBe('true');
  expect(await nodeVersions()).toEqual(everyNodeAt(NEWER_BAD_VERSION));
  const health = run.step(JOB, 'health');
  expect({ outcome: health?.outcome, healthy: health?.outputs.healthy }).toEqual({
    outcome: 'failure',
    healthy: 'false',
  });
  const incident = run.step(JOB, 'incident');
  if (incident?.outputs.action !== 'opened') throw new Error(describeRun(run, 120));
  const [issue] = incidents();
  expect(incidents()).toHaveLength(1);
  expect(issue!.state).toBe('open');
  expect(incident.outputs['issue-url']).toContain(`/issues/${issue!.number}`);
  expect(issue!.body).toContain('pods/kube-dns');
  expect(issue!.body).toContain(`https://github.com/acme/ops/actions/runs/${9400 + runs}`);
  expect(issue!.body).toContain(`\`${name}\``);
  expect(issue!.body).toContain(
    `gh workflow run rollback.yml -R acme/ops -f cluster=${NAME} -f snapshot=${name} -f confirm=${NAME}`,
  );
  expect(issue!.body).not.toContain(lab.s3.secretAccessKey);
  expect(issue!.body).not.toContain('PRIVATE KEY');
  badIssue = issue;
});

describe('rollback.yml, dispatched as the incident issue says', () => {
  const MARKER = 'written-after-the-upgrade';
  const CHECK_JOB = `/check (${NAME})`;
  const DRY_RUN_JOB = `/dry run (${NAME})`;
  const ROLLBACK_JOB = `/rollback (${NAME})`;

  const marker = () => lab.kube().getOrNull(`/api/v1/namespaces/default/configmaps/${MARKER}`);

  beforeAll(async () => {
    if (!badIssue) throw new Error('the bad upgrade opened no issue: nothing to roll back');
    // Data written after the upgrade: only a restore of the pre-upgrade snapshot takes it away.
    await lab.kube().ensure('/api/v1/namespaces/default/configmaps', {
      metadata: { name: MARKER },
      data: { at: new Date().toISOString() },
    });
  });

  test('the dry run the issue gives first prints every phase and changes nothing', async () => {
    const fields = dispatchFields(badIssue!.body, 'dry-run');
    expect(fields).toEqual({ cluster: NAME, snapshot: preUpgrade, 'dry-run': 'true' });
    const before = writes().length;
    const run = await dispatched(fields);
    // act names this job with a trailing space.
    const job = run.jobs.find((j) => j.name.trim().endsWith(DRY_RUN_JOB));
    if (run.code !== 0 || !job) throw new Error(describeRun(run, 120));
    expect(job.result).toBe('success');
    expect(run.job(ROLLBACK_JOB)?.steps ?? []).toEqual([]);
    const plan = job.steps.find((st) => st.id === 'rollback')?.outputs.plan ?? '';
    expect(plan).toContain('cluster-reset');
    expect(plan).toContain(preUpgrade);
    expect(await nodeVersions()).toEqual(everyNodeAt(NEWER_BAD_VERSION));
    expect(await marker()).not.toBeNull();
    expect(writes()).toHaveLength(before);
  });

  test('with a wrong confirm nothing is contacted or changed', async () => {
    const fields = { ...dispatchFields(badIssue!.body, 'rollback'), confirm: 'flow2-u' };
    const before = writes().length;
    const run = await dispatched(fields);
    expect(run.code).not.toBe(0);
    expect(run.job(CHECK_JOB)?.result).toBe('failure');
    expect(run.step(CHECK_JOB, 'confirm')?.outcome).toBe('failure');
    if (!run.log.includes(`confirm must be the cluster name (${NAME}) for a real rollback`))
      throw new Error(describeRun(run, 60));
    expect(run.job(ROLLBACK_JOB)?.steps ?? []).toEqual([]);
    expect(await nodeVersions()).toEqual(everyNodeAt(NEWER_BAD_VERSION));
    expect(await marker()).not.toBeNull();
    expect(writes()).toHaveLength(before);
    expect(badIssue && api.issues.get(badIssue.number)?.state).toBe('open');
  });

  test("the exact command of the issue brings the cluster back: the snapshot's version and data, healthy, the issue closed", async () => {
    const fields = dispatchFields(badIssue!.body, 'rollback');
    expect(fields).toEqual({ cluster: NAME, snapshot: preUpgrade, confirm: NAME });
    const run = await dispatched(fields);
    if (run.code !== 0) throw new Error(describeRun(run, 150));
    const rollback = run.step(ROLLBACK_JOB, 'rollback');
    expect(rollback?.outputs).toMatchObject({ ok: 'true', snapshot: preUpgrade, version: GOOD_VERSION });
    expect(Number(rollback?.outputs['mttr-seconds'])).toBeGreaterThan(0);
    expect(run.step(ROLLBACK_JOB, 'health')?.outputs.healthy).toBe('true');
    expect(run.step(ROLLBACK_JOB, 'incident')?.outputs.action).toBe('closed');
    expect(api.issues.get(badIssue!.number)?.state).toBe('closed');
    expect(await nodeVersions()).toEqual(everyNodeAt(GOOD_VERSION));
    expect(await marker()).toBeNull();
    expect(run.log).not.toContain(lab.s3.secretAccessKey);
  });
});
