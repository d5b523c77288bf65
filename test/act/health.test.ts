/**
 * health.yml run for real: the README's calling workflow (copied from README.md, as a consumer
 * copies it) in a consumer repository, run by nektos/act on this host on its `schedule` event,
 * calling rke2-ops/ops/.github/workflows/health.yml@v1 (this checkout's workflows and committed
 * bundles, test/helpers/act.ts) against a 1+1 lab over real SSH, with the GitHub REST stand-in
 * as the issues API. One lab for the file; the tests run in order and each changes the story:
 *
 *   healthy -> the run passes, no issue; bad-upgrade -> the run fails and opens one issue; a
 *   second failing run comments on it; the operator fixes forward (a good release on every
 *   node) -> the next run passes and closes the issue; a new failure seen by two runs racing
 *   (both list before either opens) leaves one open issue.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from '../lab/lab.js';
import { bashScript, sh } from '../../src/lib/quote.js';
import { startGitHubApi, type GitHubApiStandIn, type StoredIssue } from '../helpers/github-api.js';
import { describeRun, makeRepository, removeThrowaway, runAct, type ActRun } from '../helpers/act.js';
import { readmeWorkflows } from '../workflows/contracts.js';

jest.setTimeout(300_000);

const NAME = 'flow-health';
const LABEL = `rke2-ops:health-check:${NAME}`;
/** act's name of the called workflow's job ends like this. */
const JOB = `/health (${NAME})`;
/** A good release after the bad one in the lab's release table (release-table.ts). */
const FIX_VERSION = 'v1.34.6+rke2r1';

let lab: Lab;
let api: GitHubApiStandIn;
let consumer: string;
let runs = 0;

/**
 * The README's caller, with what a test must change: the cluster's name (the lab's), and a
 * short poll so a failing check gives up in seconds instead of the README's 5 minutes.
 */
function caller(): string {
  const block = readmeWorkflows().find((b) => b.name === '.github/workflows/health.yml');
  if (!block) throw new Error('README.md has no calling workflow for health.yml');
  const text = block.text
    .replaceAll('prod-eu', NAME)
    .replace(/^( +)timeout: 5m$/m, '$1timeout: 4s\n$1poll-interval: 1s');
  if (!text.includes('poll-interval: 1s')) throw new Error('the README caller no longer sets timeout: 5m');
  return text;
}

/** One scheduled run of the consumer's workflow (a new run id each time, as GitHub gives). */
async function scheduled(): Promise<ActRun> {
  runs += 1;
  return runAct({
    repo: consumer,
    workflow: '.github/workflows/health.yml',
    event: 'schedule',
    payload: { schedule: '*/15 * * * *' },
    secrets: { PROD_EU_SSH_KEY: lab.privateKey, GITHUB_TOKEN: api.token },
    vars: { PROD_EU_INVENTORY: JSON.stringify(lab.inventory) },
    apiUrl: api.url,
    runId: 7000 + runs,
  });
}

/** Installs a release on every node and restarts them (masters one by one, then the workers). */
async function installRelease(version: string): Promise<void> {
  for (const n of lab.state.nodes) {
    const s = await lab.shell(n.name);
    const r = await s.exec(
      bashScript([
        sh`INSTALL_RKE2_VERSION=${version} INSTALL_RKE2_TYPE=${n.role === 'master' ? 'server' : 'agent'} /usr/local/bin/rke2-install.sh`,
      ]),
    );
    if (r.code !== 0) throw new Error(`install ${version} on ${n.name}: ${r.stderr}`);
  }
  for (const m of lab.state.nodes.filter((n) => n.role === 'master')) await lab.service(m.name, 'restart');
  await Promise.all(
    lab.state.nodes.filter((n) => n.role === 'worker').map((w) => lab.service(w.name, 'restart')),
  );
}

const incidents = (): StoredIssue[] => [...api.issues.values()].filter((i) => i.labels.includes(LABEL));
const writes = () => api.calls.filter((c) => c.method !== 'GET');

beforeAll(async () => {
  [lab, api] = await Promise.all([
    createLab({ masters: 1, workers: 1, name: NAME, scenario: 'healthy', timing: 'fast' }),
    startGitHubApi(),
  ]);
  consumer = makeRepository({ '.github/workflows/health.yml': caller() }, { repository: 'acme/ops' });
});
afterAll(async () => {
  await Promise.all([lab?.destroy(), api?.close()]);
  removeThrowaway();
});

test('healthy: the run passes and opens nothing', async () => {
  const run = await scheduled();
  expect({ code: run.code, job: run.job(JOB)?.result }).toEqual({ code: 0, job: 'success' });
  const health = run.step(JOB, 'health');
  expect(health?.outcome).toBe('success');
  expect(health?.outputs.healthy).toBe('true');
  // The incident step ran on the healthy report and found nothing to do.
  expect(run.step(JOB, 'incident')?.outputs.action).toBe('none');
  expect(writes()).toEqual([]);
  // Node 24 ran the bundles (the step log of the toolkit's actions).
  expect(run.log).not.toMatch(/node(12|16|20) is not supported/);
});

describe('after a bad upgrade', () => {
  let first: StoredIssue;

  beforeAll(async () => {
    await lab.applyScenario('bad-upgrade');
  });

  test('the run fails and opens one issue naming what failed, with the run link', async () => {
    const run = await scheduled();
    expect(run.code).not.toBe(0);
    expect(run.job(JOB)?.result).toBe('failure');
    expect(run.step(JOB, 'health')?.outcome).toBe('failure');
    const incident = run.step(JOB, 'incident');
    expect({ outcome: incident?.outcome, action: incident?.outputs.action }).toEqual({
      outcome: 'success',
      action: 'opened',
    });
    const open = incidents();
    expect(open).toHaveLength(1);
    first = open[0]!;
    expect(first.state).toBe('open');
    expect(first.body).toContain('pods/kube-dns');
    expect(first.body).toContain(`https://github.com/acme/ops/actions/runs/${7000 + runs}`);
    expect(first.body).toContain(`gh workflow run rollback.yml`);
    expect(incident?.outputs['issue-url']).toContain(`/issues/${first.number}`);
    // The SSH key reached the action, never the issue.
    expect(first.body).not.toContain('PRIVATE KEY');
  });

  test('a second failing run comments on the same issue', async () => {
    const run = await scheduled();
    expect(run.job(JOB)?.result).toBe('failure');
    expect(run.step(JOB, 'incident')?.outputs.action).toBe('commented');
    expect(incidents().map((i) => [i.number, i.state])).toEqual([[first.number, 'open']]);
    const comments = api.commentsOn(first.number);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`/actions/runs/${7000 + runs}`);
    expect(api.callsTo('POST', /\/issues$/)).toHaveLength(1);
  });

  test('after recovery (a fixed release on every node) the next run passes and closes it', async () => {
    await installRelease(FIX_VERSION);
    const run = await scheduled();
    expect({ code: run.code, job: run.job(JOB)?.result }).toEqual({ code: 0, job: 'success' });
    if (run.step(JOB, 'incident')?.outputs.action !== 'closed') throw new Error(describeRun(run));
    const [issue] = incidents();
    expect(incidents()).toHaveLength(1);
    expect(issue).toMatchObject({ number: first.number, state: 'closed' });
    expect(api.commentsOn(first.number)).toHaveLength(2);
    for (const c of api.comments.values()) expect(c.body).not.toContain('PRIVATE KEY');
  });

  test('two scheduled runs racing on a new failure leave one open issue (the other closed as its duplicate)', async () => {
    await lab.applyScenario('bad-upgrade');
    const before = new Set(api.issues.keys());
    // Both runs list the cluster's open incidents before either opens one, every time.
    api.gate({ method: 'GET', path: /\/repos\/acme\/ops\/issues$/ }, 2);
    const racing = await Promise.all([scheduled(), scheduled()]);
    expect(racing.map((r) => r.job(JOB)?.result)).toEqual(['failure', 'failure']);
    expect(racing.map((r) => r.step(JOB, 'incident')?.outputs.action).sort()).toEqual([
      'commented',
      'opened',
    ]);
    const opened = incidents().filter((i) => !before.has(i.number));
    expect(opened.map((i) => i.state).sort()).toEqual(['closed', 'open']);
    const [canonical] = opened.filter((i) => i.state === 'open');
    expect(canonical!.number).toBe(Math.min(...opened.map((i) => i.number)));
    const duplicate = opened.find((i) => i.state === 'closed')!;
    expect(duplicate.stateReason).toBe('not_planned');
    expect(
      api.commentsOn(duplicate.number).some((c) => c.body.includes(`Duplicate of #${canonical!.number}`)),
    ).toBe(true);
  });
});
