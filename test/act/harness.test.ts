/**
 * The act harness itself (test/helpers/act.ts), on small fixture workflows: Node 24 runs the
 * steps, local actions and local reusable workflows resolve, the toolkit resolves as
 * rke2-ops/ops@v1 from the copy, inputs come from the event file, secrets and variables from
 * files (masked in the log), GITHUB_API_URL and the run id reach the steps, step outcomes and
 * outputs are read back, and a run that would need the network is refused before it starts.
 * No lab, no root.
 */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actCompatible, makeRepository, removeThrowaway, runAct, toolkitCopy } from '../helpers/act.js';

jest.setTimeout(120_000);

const root = new URL('../..', import.meta.url).pathname;

const REUSABLE = `on:
  workflow_call:
    inputs:
      cluster: { type: string, required: true }
    secrets:
      key: { required: true }
      multi: { required: true }
    outputs:
      summary: { value: '\${{ jobs.inner.outputs.summary }}' }
jobs:
  inner:
    runs-on: ubuntu-latest
    outputs:
      summary: \${{ steps.say.outputs.summary }}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - id: say
        env:
          CLUSTER: \${{ inputs.cluster }}
          KEY: \${{ secrets.key }}
          MULTI: \${{ secrets.multi }}
        run: |
          echo "node $(node --version)"
          echo "api $GITHUB_API_URL run $GITHUB_RUN_ID repo $GITHUB_REPOSITORY"
          echo "the key is $KEY"
          echo "summary=$CLUSTER:\${#KEY}:\${#MULTI}:\${{ vars.COLOUR }}" >> "$GITHUB_OUTPUT"
      - id: inventory
        uses: ./actions/inventory
        with:
          inventory: '{"not": "an inventory"}'
        continue-on-error: true
      - id: never
        if: \${{ false }}
        run: echo never
`;

const CALLER = `on:
  workflow_dispatch:
    inputs:
      cluster: { type: string, required: true }
jobs:
  call:
    uses: ./.github/workflows/reusable.yml
    with:
      cluster: \${{ inputs.cluster }}
    secrets:
      key: \${{ secrets.KEY }}
      multi: \${{ secrets.MULTI }}
  after:
    needs: call
    runs-on: ubuntu-latest
    steps:
      - id: echo
        env:
          SUMMARY: \${{ needs.call.outputs.summary }}
        run: echo "got $SUMMARY"
      - id: fail
        run: exit 3
`;

let local: string;
afterAll(() => removeThrowaway());
beforeAll(() => {
  local = makeRepository(
    { '.github/workflows/reusable.yml': REUSABLE, '.github/workflows/caller.yml': CALLER },
    { copy: [{ from: root, paths: ['actions/inventory'] }] },
  );
});

test('local reusable workflow and local action, on Node 24, inputs, secrets, vars, outputs, outcomes', async () => {
  // Delivered byte for byte through the secret file: $, quotes, backslashes, newlines.
  const key = 'secret with $HOME and "quotes" \\ end';
  const multi = '-----BEGIN KEY-----\nline $X "two"\n-----END KEY-----\n';
  const run = await runAct({
    repo: local,
    workflow: '.github/workflows/caller.yml',
    event: 'workflow_dispatch',
    inputs: { cluster: 'flow-x' },
    secrets: { KEY: key, MULTI: multi },
    vars: { COLOUR: 'blue' },
    apiUrl: 'http://127.0.0.1:4242',
    runId: 4242,
    toolkit: false,
  });
  const say = run.step('/inner', 'say');
  expect(say?.outcome).toBe('success');
  expect(say?.log).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^node v24\./),
      'api http://127.0.0.1:4242 run 4242 repo acme/ops',
      'the key is ***',
    ]),
  );
  // Secrets arrive whole (their lengths); act masks a secret's whole value in the log (GitHub
  // also masks each line of a multi-line one; our actions register each line themselves).
  expect(say?.outputs.summary).toBe(`flow-x:${key.length}:${multi.length}:blue`);
  expect(run.log).not.toContain(key);
  // The local action ran (and failed on the bad inventory), continue-on-error kept the job going.
  expect(run.step('/inner', 'inventory')?.outcome).toBe('failure');
  expect(run.job('/inner')?.result).toBe('success');
  expect(run.step('/inner', 'never')?.outcome ?? 'skipped').toBe('skipped');
  // needs.<job>.outputs across the reusable workflow; a failing step fails the job and the run.
  expect(run.step('/after', 'echo')?.log).toContain(`got flow-x:${key.length}:${multi.length}:blue`);
  expect(run.step('/after', 'fail')?.outcome).toBe('failure');
  expect(run.job('/after')?.result).toBe('failure');
  expect(run.code).not.toBe(0);
});

test('the toolkit resolves as rke2-ops/ops@v1 from its copy (a consumer repository calling it)', async () => {
  const consumer = makeRepository(
    {
      '.github/workflows/check.yml': `on: workflow_dispatch
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - id: inventory
        uses: rke2-ops/ops/actions/inventory@v1
        with:
          inventory: \${{ vars.INVENTORY }}
`,
    },
    { repository: 'acme/consumer' },
  );
  const inventory = JSON.stringify({
    version: 1,
    cluster: 'flow-consumer',
    masters: [{ name: 'flow-consumer-master-0', address: '127.0.0.1', host_keys: [] }],
    workers: [],
    rke2: { version: 'v1.34.4+rke2r1' },
  });
  const run = await runAct({
    repo: consumer,
    workflow: '.github/workflows/check.yml',
    event: 'workflow_dispatch',
    vars: { INVENTORY: inventory },
  });
  expect({ code: run.code, outcome: run.step('/check', 'inventory')?.outcome }).toEqual({
    code: 0,
    outcome: 'success',
  });
  expect(run.step('/check', 'inventory')?.outputs.cluster).toBe(JSON.parse(inventory).cluster);
  expect(run.log).toMatch(/LocalRepositoryCache matched .*rke2-ops\/ops with ref v1/);
});

test('two runs at once do not share a workspace', async () => {
  const runs = await Promise.all(
    ['a', 'b'].map((c) =>
      runAct({
        repo: local,
        workflow: '.github/workflows/caller.yml',
        event: 'workflow_dispatch',
        inputs: { cluster: c },
        secrets: { KEY: 'k', MULTI: 'mm' },
        toolkit: false,
      }),
    ),
  );
  expect(runs.map((r) => r.step('/inner', 'say')?.outputs.summary)).toEqual(['a:1:2:', 'b:1:2:']);
});

test('a workflow that would fetch an action from the network is refused before act starts', async () => {
  const repo = makeRepository({
    '.github/workflows/net.yml': `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: { repository: someone/else }
`,
  });
  await expect(
    runAct({ repo, workflow: '.github/workflows/net.yml', event: 'push', toolkit: false }),
  ).rejects.toThrow(/network: actions\/setup-node@\S+ .*, actions\/checkout@\S+/);
});

test('the toolkit copy differs from the checkout only by what act cannot parse', () => {
  const dir = toolkitCopy();
  const original = 'concurrency:\n  group: g\n  cancel-in-progress: false\n  queue: max\njobs: {}\n';
  expect(actCompatible(original)).toBe('concurrency:\n  group: g\n  cancel-in-progress: false\njobs: {}\n');
  expect(readFileSync(join(dir, 'actions/inventory/action.yml'), 'utf8')).toBe(
    readFileSync(join(root, 'actions/inventory/action.yml'), 'utf8'),
  );
});
