import { COMMENT_BODY_LIMIT } from '../../src/github/markdown.js';
import { stickyMarker } from '../../src/github/sticky-comment.js';
import { planAsDiff, renderComment, renderPlanSummary, type PlanView } from '../../src/tofu/render.js';
import { summarisePlan } from '../../src/tofu/summary.js';
import { plan, rc, server } from './tofu-fixtures.js';

const marker = stickyMarker('tofu-plan', 'module/examples/minimal');
const m0 = server('prod-master-0', { role: 'master', 'rke2-initial-server': 'true' });
const summary = summarisePlan(
  plan([
    rc('hcloud_server.master[0]', ['delete', 'create'], m0, m0, { change: { replace_paths: [['image']] } }),
    rc(
      'terraform_data.guardrails',
      ['update'],
      { input: { rke2_version: 'v1.34.4+rke2r1' } },
      { input: { rke2_version: 'v1.35.1+rke2r1' } },
    ),
  ]),
);
const text = (lines: number) =>
  [
    'OpenTofu will perform the following actions:',
    '',
    '  # hcloud_server.master[0] must be replaced',
    '-/+ resource "hcloud_server" "master" {',
    '      ~ image = "ubuntu-24.04" -> "debian-12" # forces replacement',
    ...Array.from(
      { length: lines },
      (_, i) => `        + padding_${i} = "a line of plan text with \`\`\`backticks\`\`\` in it"`,
    ),
    '    }',
    '',
    'Plan: 1 to add, 1 to change, 1 to destroy.',
  ].join('\n');
const view = (planText: string): PlanView => ({
  workingDirectory: 'module/examples/minimal',
  summary,
  planText,
  tofuVersion: '1.11.6',
  runUrl: 'https://github.com/acme/ops/actions/runs/42',
  sha: '0123456789abcdef0123',
  at: '2026-12-01T00:00:00.000Z',
});

test('a small plan: marker first, headline with counts, upgrade, warnings, full plan in a diff block', () => {
  const { body, truncated } = renderComment(view(text(3)), marker);
  expect(truncated).toBe(false);
  expect(body.split('\n')[0]).toBe(marker);
  expect(body).toContain(
    '🛑 OpenTofu plan for `module/examples/minimal`: 1 to add, 1 to change, 1 to destroy (1 to replace)',
  );
  expect(body).toContain('**RKE2 upgrade:** `v1.34.4+rke2r1` → `v1.35.1+rke2r1`');
  expect(body).toMatch(
    /> \[!CAUTION\]\n> - master-0 hcloud_server.master\[0\] \(prod-master-0\) will be REPLACED, forced by a change of image/,
  );
  expect(body).toContain('<details><summary>Plan output (');
  expect(body).toContain('Plan: 1 to add, 1 to change, 1 to destroy.');
  expect(body).toContain(`resource changes hash \`${summary.resourceChangesHash}\``);
  expect(body).toContain('[run](https://github.com/acme/ops/actions/runs/42)');
  // Backticks in the plan cannot close the code block: the fence is longer.
  expect(body).toMatch(/\n````diff\n/);
});

test('a 200 KB plan is cut at a line to fit 65,536 characters and points to the job summary', () => {
  const big = text(2800);
  expect(big.length).toBeGreaterThan(200_000);
  const { body, truncated } = renderComment(view(big), marker);
  expect(truncated).toBe(true);
  expect(body.length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT);
  expect(body.length).toBeGreaterThan(COMMENT_BODY_LIMIT - 2_000);
  expect(body).toMatch(
    /Plan output truncated to its first \d+ of 2808 lines: the full plan is in the \[job summary\]\(https:\/\/github.com\/acme\/ops\/actions\/runs\/42\)/,
  );
  expect(body).toMatch(/padding_\d+ = "a line of plan text[^\n]*"\n````\n/);
  expect(body.endsWith('</sub>')).toBe(true);
});

test('even thousands of findings keep the comment under the limit', () => {
  const many = summarisePlan(
    plan(
      Array.from({ length: 3000 }, (_, i) =>
        rc(
          `hcloud_server.master[${i + 1}]`,
          ['delete'],
          server(`p-master-${i + 1}`, { role: 'master' }),
          null,
        ),
      ),
    ),
  );
  const { body } = renderComment({ ...view(text(10)), summary: many }, marker);
  expect(body.length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT);
  expect(body).toContain('2980 more finding(s) in the job summary');
});

test('the job summary holds the whole 200 KB plan, and cuts only beyond its byte budget', () => {
  const big = text(2800);
  const phases = [{ name: 'plan', startedAt: 0, durationSeconds: 1.2, status: 'ok' as const }];
  const full = renderPlanSummary(view(big), phases);
  expect(full.truncated).toBe(false);
  expect(full.body).toContain('padding_2799');
  expect(full.body).toContain('gantt');
  const cut = renderPlanSummary(view(big), phases, {}, 100_000);
  expect(cut.truncated).toBe(true);
  expect(Buffer.byteLength(cut.body)).toBeLessThanOrEqual(100_000);
  expect(cut.body).toMatch(
    /truncated to its first \d+ of 2808 lines: a job summary holds at most 1 MiB; the complete plan is the `plan-text-file` output/,
  );
});

test('planAsDiff marks each change line in column 0 and keeps the text', () => {
  expect(planAsDiff('  + a = 1\n  - b = 2\n  ~ c = 3\n-/+ resource\n  <= data\n    x = 1\n')).toBe(
    '+  + a = 1\n-  - b = 2\n!  ~ c = 3\n!-/+ resource\n!  <= data\n     x = 1\n',
  );
});
