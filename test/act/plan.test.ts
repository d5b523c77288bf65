/**
 * plan.yml run for real: the README's calling workflow in a consumer repository whose
 * `envs/<cluster>` holds test/tofu/stack, run by nektos/act on a pull_request event, calling
 * rke2-ops/ops/.github/workflows/plan.yml@v1 (this checkout's workflows and bundles): checkout,
 * the tofu action (the Go-built tofu on PATH at the pinned version, providers from the local
 * mirror: offline), the sticky comment on the GitHub REST stand-in, then fmt -check and
 * validate. A pull request from a fork is not planned. No lab.
 */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGitHubApi, type GitHubApiStandIn } from '../helpers/github-api.js';
import { describeRun, makeRepository, removeThrowaway, runAct } from '../helpers/act.js';
import { findTofu } from '../helpers/tofu.js';
import { readmeWorkflows } from '../workflows/contracts.js';

jest.setTimeout(300_000);

const root = new URL('../..', import.meta.url).pathname;
const CLUSTER = 'flow-plan';
const HCLOUD_TOKEN = 'hcloud-secret-token-for-the-plan-test-0123456789';
const tool = findTofu();

let api: GitHubApiStandIn;
let consumer: string;

function caller(): string {
  const block = readmeWorkflows().find((b) => b.name === '.github/workflows/plan.yml');
  if (!block) throw new Error('README.md has no calling workflow for plan.yml');
  return block.text.replaceAll('prod-eu', CLUSTER);
}

function pullRequest(number: number, headRepository: string) {
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      head: { ref: 'upgrade', repo: { full_name: headRepository } },
      base: { ref: 'main', repo: { full_name: 'acme/ops' } },
    },
    repository: { full_name: 'acme/ops', name: 'ops', owner: { login: 'acme' } },
  };
}

const plan = (pr: number, headRepository = 'acme/ops') =>
  runAct({
    repo: consumer,
    workflow: '.github/workflows/plan.yml',
    event: 'pull_request',
    payload: pullRequest(pr, headRepository),
    secrets: { GITHUB_TOKEN: api.token, HCLOUD_TOKEN },
    apiUrl: api.url,
    runId: 8100 + pr,
  });

beforeAll(async () => {
  if ('missing' in tool) throw new Error(`tofu is needed: ${tool.missing}`);
  api = await startGitHubApi();
  consumer = makeRepository(
    {
      '.github/workflows/plan.yml': caller(),
      [`envs/${CLUSTER}/main.tf`]: readFileSync(join(root, 'test/tofu/stack/main.tf'), 'utf8'),
    },
    { repository: 'acme/ops' },
  );
});
afterAll(async () => {
  await api?.close();
  removeThrowaway();
});

test('a pull request is planned: one sticky comment with the summary, fmt and validate pass, no secret shown', async () => {
  const pr = api.addPullRequest('Add the cluster');
  const run = await plan(pr);
  const job = `/plan (${CLUSTER})`;
  if (run.code !== 0) throw new Error(describeRun(run, 120));
  expect(run.job(job)?.result).toBe('success');
  const step = run.step(job, 'plan');
  expect(step?.outcome).toBe('success');
  expect(step?.outputs).toMatchObject({
    'tofu-version': '1.11.6',
    changes: 'true',
    destructive: 'false',
    'to-add': '14',
    'rke2-upgrade': 'false',
  });
  expect(run.step(job, 'fmt')?.outcome).toBe('success');
  expect(run.step(job, 'validate')?.outcome).toBe('success');
  // The installed tofu was the one on PATH (nothing downloaded).
  expect(step?.outputs['tofu-path']).toMatch(/\/tofu$/);
  const comments = api.commentsOn(pr);
  expect(comments).toHaveLength(1);
  expect(comments[0]!.body.split('\n')[0]).toBe(`<!-- rke2-ops:tofu-plan:envs%2F${CLUSTER} -->`);
  expect(comments[0]!.body).toContain('14 to add, 0 to change, 0 to destroy');
  expect(comments[0]!.body).toContain(`/actions/runs/${8100 + pr}`);
  expect(step?.outputs['comment-id']).toBe(String(comments[0]!.id));
  for (const c of api.calls) expect(JSON.stringify(c.body ?? '')).not.toContain(HCLOUD_TOKEN);
  expect(run.log).not.toContain(HCLOUD_TOKEN);
});

test('a pull request from a fork is not planned (no secrets, no comment)', async () => {
  const pr = api.addPullRequest('From a fork');
  const before = api.calls.length;
  const run = await plan(pr, 'someone/ops-fork');
  expect(run.code).toBe(0);
  expect(run.step(`/plan (${CLUSTER})`, 'plan')).toBeUndefined();
  expect(api.calls.slice(before)).toEqual([]);
  expect(api.commentsOn(pr)).toEqual([]);
});
