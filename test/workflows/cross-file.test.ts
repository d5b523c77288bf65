/**
 * Our own cross-file checks (test/workflows/contracts.ts) on every workflow in
 * .github/workflows and on the calling workflows the README gives consumers: inputs and
 * secrets against the action.yml and workflow_call contracts, every needs/steps/jobs/inputs/
 * secrets reference, no expression inside run:. Plus the rules every cluster workflow follows
 * (design.md section 6): one queued concurrency group per cluster, no permissions at the top and
 * least privilege per job, our own actions and workflows at the major tag. Broken samples prove
 * each check bites.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from '@actions/workflow-parser';
import {
  TOOLKIT_REPOSITORY,
  callContract,
  checkWorkflow,
  readWorkflow,
  readmeWorkflows,
  type Workflow,
} from './contracts.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = join(root, '.github/workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

async function parserErrors(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  if (result.value) await convertWorkflowTemplate(result.context, result.value);
  return result.context.errors.getErrors().map((e) => e.message);
}

describe('contracts', () => {
  test.each(files)('.github/workflows/%s keeps every contract', (file) => {
    expect(checkWorkflow(file, readWorkflow(join(dir, file)))).toEqual([]);
  });

  test('the README shows the calling workflows a consumer needs, and each keeps every contract', async () => {
    const blocks = readmeWorkflows();
    expect(blocks.map((b) => b.name)).toEqual(
      expect.arrayContaining([
        '.github/workflows/health.yml',
        '.github/workflows/plan.yml',
        '.github/workflows/backup.yml',
        '.github/workflows/upgrade.yml',
        '.github/workflows/rollback.yml',
      ]),
    );
    for (const b of blocks) {
      expect({ [b.name]: await parserErrors(b.name, b.text) }).toEqual({ [b.name]: [] });
      expect(checkWorkflow(b.name, parseYaml(b.text) as Workflow)).toEqual([]);
    }
  });
});

describe('cluster workflows (reusable, with a cluster input)', () => {
  const cluster = files
    .map((f) => ({ f, wf: readWorkflow(join(dir, f)) }))
    .filter(({ wf }) => callContract(wf)?.inputs.cluster);

  test('there are some', () => {
    expect(cluster.map((c) => c.f)).toEqual(
      expect.arrayContaining(['health.yml', 'plan.yml', 'backup.yml', 'upgrade.yml', 'rollback.yml']),
    );
  });

  test.each(cluster.map((c) => [c.f, c.wf] as const))(
    '%s: one queued concurrency group per cluster, shared by all; never cancelled',
    (_f, wf) => {
      const c = wf.concurrency as { group: string; 'cancel-in-progress': boolean; queue: string };
      expect(c.group).toMatch(/^rke2-ops-\$\{\{ inputs\.cluster( \|\| vars\.RKE2OPS_CLUSTER)? \}\}$/);
      expect(c['cancel-in-progress']).toBe(false);
      expect(c.queue).toBe('max');
    },
  );

  test.each(cluster.map((c) => [c.f, c.wf] as const))(
    '%s: no permissions at the top, each job names what it needs, none writes contents',
    (_f, wf) => {
      expect(wf.permissions).toEqual({});
      for (const job of Object.values(wf.jobs ?? {})) {
        expect(job.permissions).toBeDefined();
        expect((job.permissions as Record<string, string>).contents ?? 'read').toBe('read');
      }
    },
  );
});

test('every job that changes a cluster (tofu apply, a rollback that is not a dry run) waits for a GitHub Environment', () => {
  const changing = files.flatMap((f) =>
    Object.entries(readWorkflow(join(dir, f)).jobs ?? {})
      .filter(([, job]) =>
        (job.steps ?? []).some(
          (s) =>
            (/\/actions\/rollback@/.test(s.uses ?? '') && String(s.with?.['dry-run']) !== 'true') ||
            (/\/actions\/tofu@/.test(s.uses ?? '') && s.with?.command === 'apply'),
        ),
      )
      .map(([id, job]) => ({ job: `${f}: jobs.${id}`, environment: job.environment })),
  );
  expect(changing.map((c) => c.job)).toEqual(
    expect.arrayContaining(['upgrade.yml: jobs.upgrade', 'rollback.yml: jobs.rollback']),
  );
  for (const c of changing) expect({ [c.job]: typeof c.environment }).toEqual({ [c.job]: 'string' });
});

test(`our actions and workflows are used at the major tag, from ${TOOLKIT_REPOSITORY}`, () => {
  const texts = [
    ...files.map((f) => readFileSync(join(dir, f), 'utf8')),
    ...readmeWorkflows().map((b) => b.text),
  ];
  const refs = texts.flatMap((t) => [...t.matchAll(/uses:\s*([^\s#]+)/g)].map((m) => m[1]!));
  const ours = refs.filter(
    (r) => /\/(actions\/[\w-]+|\.github\/workflows\/[\w.-]+)@/.test(r) && !r.startsWith('actions/'),
  );
  expect(ours.length).toBeGreaterThan(0);
  for (const r of ours) expect(r).toMatch(new RegExp(`^${TOOLKIT_REPOSITORY}/.+@v1$`));
});

describe('the checks bite', () => {
  const actionStep = (w: string) => `
on: { workflow_dispatch: { inputs: { x: { type: string } } } }
jobs:
  a:
    runs-on: ubuntu-latest
    outputs: { o: '\${{ steps.h.outputs.healthy }}' }
    steps:
      - id: h
        uses: ${TOOLKIT_REPOSITORY}/actions/health-check@v1
        with: ${w}
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - run: echo hi`;

  const check = (text: string) => checkWorkflow('sample.yml', parseYaml(text) as Workflow);

  test('an undeclared input, a missing required input', () => {
    expect(check(actionStep(`{ ssh-key: k, inventory: i, timout: 5m }`))).toEqual([
      'sample.yml: jobs.a.steps[h]: actions/health-check has no input timout',
    ]);
    expect(check(actionStep(`{ inventory: i }`))).toEqual([
      'sample.yml: jobs.a.steps[h]: actions/health-check needs input ssh-key',
    ]);
  });

  test('an unknown step output, a needs output that is not there, a step used before it runs', () => {
    const text = actionStep('{ ssh-key: k }')
      .replace('steps.h.outputs.healthy', 'steps.h.outputs.healty')
      .replace(
        '      - run: echo hi',
        "      - run: echo hi\n        if: needs.a.outputs.p == 'x' && steps.later.outputs.y",
      );
    expect(check(text).sort()).toEqual([
      'sample.yml: jobs.a.outputs.o: steps.h.outputs.healty: actions/health-check has no output healty',
      'sample.yml: jobs.b.steps[0].if: needs.a.outputs.p: job a has no output p',
      'sample.yml: jobs.b.steps[0].if: steps.later: no step with that id before this point',
    ]);
  });

  test('an expression in run:, an undeclared input', () => {
    const text = actionStep('{ ssh-key: k }').replace('echo hi', 'echo ${{ inputs.y }}');
    expect(check(text)).toEqual([
      'sample.yml: jobs.b.steps[0].run: an expression inside run: (pass the value through env:)',
    ]);
    expect(check(actionStep('{ ssh-key: "${{ inputs.nope }}" }'))).toEqual([
      'sample.yml: jobs.a.steps[h].with.ssh-key: inputs.nope: no trigger declares this input',
    ]);
  });

  test('a call that misses a required input or secret, or passes one the workflow does not declare', () => {
    const call = (body: string) => `
on: push
jobs:
  h:
    uses: ${TOOLKIT_REPOSITORY}/.github/workflows/health.yml@v1
${body}`;
    expect(
      check(call('    with: { cluster: c, inventory: i }\n    secrets: { RKE2OPS_SSH_KEY: k }')),
    ).toEqual([]);
    expect(check(call('    with: { cluster: c, invntory: i }\n    secrets: { SSH_KEY: k }'))).toEqual([
      'sample.yml: jobs.h: .github/workflows/health.yml has no input invntory',
      'sample.yml: jobs.h: .github/workflows/health.yml needs input inventory',
      'sample.yml: jobs.h: .github/workflows/health.yml has no secret SSH_KEY',
      'sample.yml: jobs.h: .github/workflows/health.yml needs secret RKE2OPS_SSH_KEY',
    ]);
    expect(check(call('    with: { cluster: c, inventory: i }\n    secrets: inherit'))).toEqual([]);
    expect(
      check(
        call('    with: { cluster: c, inventory: i }\n    secrets: inherit').replace(
          'health.yml',
          'nope.yml',
        ),
      ),
    ).toEqual(['sample.yml: jobs.h: .github/workflows/nope.yml does not exist or is not reusable']);
  });

  test('a reusable workflow reading a secret it does not declare, an output of a job that is not there', () => {
    const text = `
on:
  workflow_call:
    secrets: { A: { required: true } }
    outputs: { x: { value: '\${{ jobs.j.outputs.nope }}' } }
jobs:
  j:
    runs-on: ubuntu-latest
    outputs: { y: '\${{ steps.s.outputs.z }}' }
    steps:
      - id: s
        env: { B: '\${{ secrets.B }}', T: '\${{ secrets.GITHUB_TOKEN }}' }
        run: echo`;
    expect(check(text)).toEqual([
      'sample.yml: on.workflow_call.outputs.x.value: jobs.j.outputs.nope: no such job output',
      'sample.yml: jobs.j.steps[s].env.B: secrets.B: not a secret of this reusable workflow',
    ]);
  });
});
