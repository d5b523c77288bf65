/**
 * The bundled tofu action (actions/tofu/dist), run as the runner runs it: INPUT_* variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, the workspace as working directory, a pull
 * request event, and GITHUB_API_URL pointing at the GitHub REST stand-in. Real tofu, offline.
 * Plan and apply on test/tofu/stack; install from a local release server into the tool cache;
 * then module/examples/minimal planned offline, with the RKE2 upgrade detected.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { COMMENT_BODY_LIMIT } from '../../src/github/markdown.js';
import { startGitHubApi, type GitHubApiStandIn } from '../helpers/github-api.js';
import { actionNode, inputEnv, parseOutputFile, runnerFiles } from '../helpers/run-action.js';
import {
  copyConfig,
  describeWithTofu,
  findTofu,
  OFFLINE_ENV,
  tofuSync,
  type TofuTool,
} from '../helpers/tofu.js';
import { packageTofuRelease, startReleaseServer } from '../helpers/tofu-release.js';
import { materialiseState } from '../helpers/tofu-state.js';

const root = new URL('../..', import.meta.url).pathname;
const bundle = join(root, 'actions', 'tofu', 'dist', 'index.js');
const tool = findTofu();
// Real tofu on a shared 2-core machine: seconds per step, more when others are busy.
jest.setTimeout(120_000);

interface Run {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/**
 * One step, as the runner runs it: on the node action.yml declares (Node 24), only the runner's
 * variables, the workspace as cwd (runBundledAction has no cwd: working-directory is relative
 * to the workspace).
 */
async function runStep(
  inputs: Record<string, string>,
  env: Record<string, string>,
  cwd: string,
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'rke2ops-step-'));
  const files = runnerFiles(dir);
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(INPUT_|GITHUB_|RUNNER_|TF_)|^NODE_OPTIONS$/.test(k)),
  );
  const child = spawn(actionNode('tofu').path, [bundle], {
    cwd,
    env: { ...base, ...inputEnv(inputs), ...files, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const run = {
    code,
    stdout,
    outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
  rmSync(dir, { recursive: true, force: true });
  return run;
}

describeWithTofu(tool)('actions/tofu bundle', () => {
  const tofu = tool as TofuTool;
  let api: GitHubApiStandIn;
  let workspace: string;
  let pr: number;
  let env: Record<string, string>;
  const plans = () => join(workspace, 'plans');

  beforeAll(async () => {
    api = await startGitHubApi();
    pr = api.addPullRequest('Upgrade RKE2');
    workspace = dirname(copyConfig('stack'));
    const event = join(workspace, 'event.json');
    writeFileSync(event, JSON.stringify({ action: 'synchronize', pull_request: { number: pr } }));
    env = {
      ...OFFLINE_ENV,
      PATH: `${dirname(tofu.binary)}:${process.env.PATH}`,
      TF_CLI_CONFIG_FILE: tofu.env.TF_CLI_CONFIG_FILE!,
      GITHUB_API_URL: api.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: `${api.owner}/${api.repo}`,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_RUN_ID: '4242',
      GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
      GITHUB_WORKSPACE: workspace,
      RUNNER_TOOL_CACHE: join(workspace, 'toolcache'),
    };
  });
  afterAll(async () => {
    await api.close();
    rmSync(workspace, { recursive: true, force: true });
  });

  // The first step initialises the workspace copy; later steps skip init (seconds per file).
  let initialised = 0;
  const init = () => (initialised++ ? 'false' : 'true');
  const plan = (inputs: Record<string, string> = {}, extraEnv: Record<string, string> = {}) =>
    runStep(
      {
        'working-directory': 'stack',
        init: init(),
        'github-token': api.token,
        'plan-file': join(plans(), 'tfplan'),
        ...inputs,
      },
      { ...env, ...extraEnv },
      workspace,
    );

  let created: Run;

  test('plan on a pull request: outputs, job summary with the plan, one sticky comment', async () => {
    expect(actionNode('tofu')).toMatchObject({ using: 'node24', version: expect.stringMatching(/^v24\./) });
    created = await plan();
    expect(created.stdout).not.toContain('::error::');
    expect(created.code).toBe(0);
    expect(created.outputs).toMatchObject({
      'tofu-version': tofu.version,
      'exit-code': '2',
      changes: 'true',
      destructive: 'false',
      'to-add': '14',
      'to-change': '0',
      'to-destroy': '0',
      'to-replace': '0',
      'rke2-upgrade': 'false',
      'plan-file': join(plans(), 'tfplan'),
      'plan-json-file': join(plans(), 'tfplan.json'),
      warnings: '[]',
    });
    expect(created.outputs['resource-changes-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(created.outputs['duration-seconds'])).toBeGreaterThan(0);
    const report = JSON.parse(created.outputs.report!);
    expect(report).toMatchObject({ kind: 'tofu', command: 'plan', ok: true, comment: { status: 'created' } });
    expect(created.summary).toContain(
      '## 📝 OpenTofu plan for `stack`: 14 to add, 0 to change, 0 to destroy',
    );
    expect(created.summary).toContain('Plan: 14 to add, 0 to change, 0 to destroy.');
    expect(created.summary).toContain('gantt');
    const comments = api.commentsOn(pr);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.split('\n')[0]).toBe('<!-- rke2-ops:tofu-plan:stack -->');
    expect(created.outputs['comment-id']).toBe(String(comments[0]!.id));
    expect(comments[0]!.body).toContain('[run](https://github.com/acme/ops/actions/runs/4242)');
  });

  test('apply of the reviewed plan; then an upgrade plan updates the same comment', async () => {
    const applied = await runStep(
      {
        command: 'apply',
        'working-directory': 'stack',
        init: init(),
        'plan-file': created.outputs['plan-file']!,
        'resource-changes-hash': created.outputs['resource-changes-hash']!,
      },
      env,
      workspace,
    );
    expect(applied.stdout).not.toContain('::error::');
    expect(applied.code).toBe(0);
    expect(applied.outputs).toMatchObject({ applied: 'true', 'to-add': '14' });
    expect(JSON.parse(applied.outputs['ops-inventory']!)).toMatchObject({
      cluster: 'stack',
      rke2: { version: 'v1.34.4+rke2r1' },
    });
    expect(JSON.parse(applied.outputs.outputs!).rke2_token).toEqual({ sensitive: true, value: null });
    expect(applied.summary).toContain('## ✅ OpenTofu apply in `stack`');

    const upgrade = await plan({ vars: 'rke2_version=v1.35.1+rke2r1' });
    expect(upgrade.code).toBe(0);
    expect(upgrade.outputs).toMatchObject({
      'rke2-upgrade': 'true',
      'rke2-version-from': 'v1.34.4+rke2r1',
      'rke2-version-to': 'v1.35.1+rke2r1',
      'rke2-version-direction': 'upgrade',
      'to-change': '1',
      'comment-id': created.outputs['comment-id'],
    });
    const comments = api.commentsOn(pr);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('**RKE2 upgrade:** `v1.34.4+rke2r1` → `v1.35.1+rke2r1`');
    expect(api.callsTo('POST', new RegExp(`/issues/${pr}/comments$`))).toHaveLength(1);
    expect(api.callsTo('PATCH', /\/issues\/comments\/\d+$/)).toHaveLength(1);
  });

  test('apply refuses a plan other than the reviewed one: the step fails, saying so, outputs set first', async () => {
    const reviewed = await plan({ vars: 'rke2_version=v1.35.1+rke2r1', comment: 'false' });
    const other = await plan({ vars: 'rke2_version=v1.35.1+rke2r1\nimage=debian-12', comment: 'false' });
    expect(other.outputs['resource-changes-hash']).not.toBe(reviewed.outputs['resource-changes-hash']);
    const stateBefore = tofuSync(tofu, join(workspace, 'stack'), ['state', 'pull']);
    const refused = await runStep(
      {
        command: 'apply',
        'working-directory': 'stack',
        init: init(),
        'plan-file': join(plans(), 'tfplan'),
        'resource-changes-hash': reviewed.outputs['resource-changes-hash']!,
      },
      env,
      workspace,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /::error::tofu apply failed in phase verify \(stack\): refusing to apply: the saved plan's resource changes differ from the reviewed plan \(hash [0-9a-f]{64} here, [0-9a-f]{64} reviewed; this plan: 4 to add, 1 to change, 4 to destroy \(4 to replace\)\)\. Apply exactly what was reviewed: re-run the plan/,
    );
    expect(refused.outputs.applied).toBe('false');
    const report = JSON.parse(refused.outputs.report!);
    expect(report).toMatchObject({ ok: false, error: { phase: 'verify' }, apply: { applied: false } });
    expect(report.apply.actualHash).toBe(other.outputs['resource-changes-hash']);
    expect(report.phases.map((p: { name: string; status: string }) => `${p.name}:${p.status}`)).toEqual([
      'install:ok',
      'init:skipped',
      'verify:failed',
    ]);
    expect(tofuSync(tofu, join(workspace, 'stack'), ['state', 'pull'])).toBe(stateBefore);
    expect(refused.summary).toContain('Failed in phase `verify`');
  });

  test('a PR comment that cannot be written warns and the plan step still passes', async () => {
    api.failNext({ path: new RegExp(`/issues/${pr}/comments$`) }, 500, 10);
    const before = api.calls.length;
    const run = await plan({ 'comment-key': 'flaky' });
    api.clearFaults();
    // Listing was tried three times (two retries on 5xx), then the step moved on.
    expect(api.calls.slice(before).map((c) => `${c.method} ${c.status}`)).toEqual([
      'GET 500',
      'GET 500',
      'GET 500',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::could not write the PR comment \(the plan itself is fine\): .*stand-in fault 500/,
    );
    expect(run.outputs['comment-id']).toBeUndefined();
    expect(JSON.parse(run.outputs.report!).comment).toMatchObject({ status: 'failed' });
    expect(api.commentsOn(pr)).toHaveLength(1);
  });

  test('a 200 KB plan: the comment stays under 65,536 characters, the summary has it all', async () => {
    const run = await plan({ vars: 'plan_padding=2600', 'comment-key': 'big' });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(Buffer.byteLength(readFileSync(run.outputs['plan-text-file']!))).toBeGreaterThan(200_000);
    const comment = api
      .commentsOn(pr)
      .find((c) => c.body.startsWith('<!-- rke2-ops:tofu-plan:stack%23big -->'))!;
    expect(comment.body.length).toBeLessThanOrEqual(COMMENT_BODY_LIMIT);
    expect(comment.body).toMatch(
      /Plan output truncated to its first \d+ of \d+ lines: the full plan is in the \[job summary\]\(https:\/\/github.com\/acme\/ops\/actions\/runs\/4242\)/,
    );
    expect(run.summary).toContain('padding line 2599: plan text');
    expect(Buffer.byteLength(run.summary)).toBeLessThan(1024 * 1024);
  });

  test('install from the release server into the tool cache; the next run uses the cache; a tampered archive fails the step', async () => {
    const server = await startReleaseServer(packageTofuRelease(tofu.binary, tofu.version));
    try {
      const noTofu = { ...env, PATH: '/usr/bin:/bin' };
      const inputs = {
        command: 'output',
        'working-directory': 'stack',
        init: 'false',
        'download-base-url': server.url,
      };
      const first = await runStep(inputs, noTofu, workspace);
      expect(first.stdout).not.toContain('::error::');
      expect(JSON.parse(first.outputs.report!).tofu).toMatchObject({
        source: 'download',
        version: tofu.version,
      });
      expect(first.outputs['tofu-path']).toBe(
        join(workspace, 'toolcache', 'tofu', tofu.version, 'amd64', 'tofu'),
      );
      expect(first.stdout).toContain(
        `::add-path::${join(workspace, 'toolcache', 'tofu', tofu.version, 'amd64')}`,
      );
      expect(JSON.parse(first.outputs['ops-inventory']!).cluster).toBe('stack');
      expect(server.requests).toHaveLength(2);

      const second = await runStep(inputs, noTofu, workspace);
      expect(JSON.parse(second.outputs.report!).tofu).toMatchObject({ source: 'cache' });
      expect(server.requests).toHaveLength(2);

      server.tamper();
      const tampered = await runStep(
        inputs,
        { ...noTofu, RUNNER_TOOL_CACHE: join(workspace, 'toolcache-2') },
        workspace,
      );
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toMatch(
        /::error::tofu output failed in phase install \(stack\): tofu_[\d.]+_linux_amd64.zip: sha256 [0-9a-f]{64} does not match/,
      );
    } finally {
      await server.close();
    }
  });

  test('module/examples/minimal as a running cluster (state built offline): an upgrade, a forced master-0 replacement', async () => {
    // The module and its example, copied so the example's `source = "../.."` still resolves;
    // an override file passes the module's rke2_version through (the example does not).
    const copy = copyConfig(join(root, 'module'), workspace);
    const example = join(copy, 'examples', 'minimal');
    writeFileSync(
      join(example, 'rke2_version_override.tf'),
      'module "cluster" {\n  rke2_version = var.rke2_version\n}\n',
    );
    writeFileSync(
      join(example, 'rke2_version_variable.tf'),
      'variable "rke2_version" {\n  type    = string\n  default = "v1.34.4+rke2r1"\n}\n',
    );
    const token = 'h'.repeat(64);
    const tfEnv = { TF_VAR_hcloud_token: token };
    tofuSync(tofu, example, ['init', '-input=false', '-no-color'], tfEnv);
    // As if applied: real keys and tokens, every Hetzner object filled in, outputs written.
    materialiseState(tofu, example, tfEnv);
    const inventory = JSON.parse(tofuSync(tofu, example, ['output', '-json', 'ops_inventory'], tfEnv));
    expect(inventory).toMatchObject({ cluster: 'minimal', rke2: { version: 'v1.34.4+rke2r1' } });

    const step = (inputs: Record<string, string>) =>
      runStep(
        {
          'working-directory': 'module/examples/minimal',
          init: 'false',
          'plan-file': join(plans(), 'minimal.tfplan'),
          'github-token': api.token,
          ...inputs,
        },
        { ...env, ...tfEnv },
        workspace,
      );
    // -refresh=false: the servers exist only in the state; nothing may call Hetzner.
    const upgrade = await step({ vars: 'rke2_version=v1.35.1+rke2r1', 'plan-args': '-refresh=false' });
    expect(upgrade.stdout).not.toContain('::error::');
    expect(upgrade.code).toBe(0);
    // The module upgrades in place: no server changes. Only the upgrade chain's own steps
    // (terraform_data re-run on an rke2_version change: snapshot, per-node upgrade, health check)
    // are replaced - and they are not servers, so no master warning may fire for them.
    expect(upgrade.outputs).toMatchObject({
      changes: 'true',
      'rke2-upgrade': 'true',
      'rke2-version-from': 'v1.34.4+rke2r1',
      'rke2-version-to': 'v1.35.1+rke2r1',
      'to-change': '0',
      warnings: '[]',
    });
    const report = JSON.parse(upgrade.outputs.report!);
    const changed = (report.plan.resources as { address: string; action: string }[]).filter(
      (r) => r.action !== 'no-op',
    );
    expect(changed.map((r) => r.address).sort()).toEqual([
      'module.cluster.terraform_data.health_check[0]',
      'module.cluster.terraform_data.pre_upgrade_snapshot[0]',
      'module.cluster.terraform_data.upgrade_master[0]',
      'module.cluster.terraform_data.upgrade_worker[0]',
    ]);
    expect(changed.every((r) => r.action === 'replace')).toBe(true);
    expect(upgrade.outputs['to-add']).toBe(String(changed.length));
    expect(report.plan.rke2Upgrade.sources).toContain('output.ops_inventory.rke2.version');
    expect(report.plan.outputChanges).toContain('ops_inventory');
    expect(upgrade.summary).toContain('**RKE2 upgrade:** `v1.34.4+rke2r1` → `v1.35.1+rke2r1`');
    const comment = api.commentsOn(pr).find((c) => c.body.includes('module/examples/minimal'))!;
    expect(comment.body).not.toContain('[!CAUTION]');

    const replace = await step({
      'plan-args': '-refresh=false\n-replace=module.cluster.hcloud_server.master[0]',
    });
    expect(replace.code).toBe(0);
    const warnings = JSON.parse(replace.outputs.warnings!) as {
      severity: string;
      code: string;
      address: string;
    }[];
    expect(warnings[0]).toMatchObject({
      severity: 'critical',
      code: 'master-0-replaced',
      address: 'module.cluster.hcloud_server.master[0]',
    });
    expect(replace.outputs).toMatchObject({ destructive: 'true', 'rke2-upgrade': 'false' });
    expect(api.commentsOn(pr).find((c) => c.id === comment.id)!.body).toContain('> [!CAUTION]');

    // The Hetzner token (a sensitive variable) never leaves: not in the log, summary, comment or
    // report (::add-mask:: lines are the runner's masking commands, consumed, never shown).
    for (const run of [upgrade, replace]) {
      expect(run.stdout).toContain(`::add-mask::${token}`);
      const log = run.stdout.replace(/^::add-mask::.*$/gm, '');
      for (const text of [log, run.summary, run.outputs.report!]) expect(text).not.toContain(token);
    }
    expect(
      api
        .commentsOn(pr)
        .map((c) => c.body)
        .join('\n'),
    ).not.toContain(token);
  });
});
