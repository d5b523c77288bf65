/**
 * The tofu core against the real tofu (OpenTofu built by setup-tools.sh) on test/tofu/stack, a
 * configuration shaped like module/ built from terraform_data/random/tls with local state:
 * counts equal tofu's own "Plan:" line, an rke2_version change is an upgrade with from/to, a
 * master replacement is flagged (master-0 critical), control-plane ports and backups are
 * caught, apply refuses a plan other than the reviewed one, sensitive values never leave.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { systemClock } from '../../src/lib/clock.js';
import type { Logger } from '../../src/lib/logger.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { parseTofuConfig, type ApplyConfig, type PlanConfig } from '../../src/tofu/config.js';
import { createTofuExec } from '../../src/tofu/exec.js';
import { runPlan } from '../../src/tofu/plan.js';
import { runApply } from '../../src/tofu/apply.js';
import { runOutput } from '../../src/tofu/outputs.js';
import { renderComment, renderPlanSummary } from '../../src/tofu/render.js';
import type { TofuDeps } from '../../src/tofu/session.js';
import { copyConfig, describeWithTofu, findTofu, tofuSync, type TofuTool } from '../helpers/tofu.js';

const repo = new URL('../..', import.meta.url).pathname;
const tool = findTofu();
// Real tofu on a shared 2-core machine: seconds per step, more when others are busy.
jest.setTimeout(120_000);
const HCLOUD_TOKEN = 'stack-hcloud-token-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST';

describeWithTofu(tool)('tofu core on a real configuration', () => {
  const tofu = tool as TofuTool;
  let dir: string;
  let root: string;
  let initialised = 0;
  const log: string[] = [];
  const logger: Logger = {
    info: (m) => log.push(m),
    warning: (m) => log.push(`warning: ${m}`),
    error: (m) => log.push(`error: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };

  beforeAll(() => {
    dir = copyConfig('stack');
    root = dirname(dir);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const deps = (secrets = new SecretRegistry()): TofuDeps => ({
    resolveTofu: async () => ({ binary: tofu.binary, version: tofu.version, source: 'path' }),
    createExec: (binary, env) => createTofuExec(binary, { logger, secrets, env: { ...tofu.env, ...env } }),
    logger,
    secrets,
    clock: systemClock,
  });
  const config = <T extends PlanConfig | ApplyConfig>(inputs: Record<string, string>): T => {
    // The first run initialises the copy; later runs skip init (seconds per file).
    const all: Record<string, string> = {
      'working-directory': 'stack',
      init: initialised++ ? 'false' : 'true',
      ...inputs,
    };
    return parseTofuConfig((n) => all[n] ?? '', { cwd: root, tempDir: root }) as T;
  };
  const plan = async (vars: string, extra: Record<string, string> = {}, secrets = new SecretRegistry()) => {
    const result = await runPlan(config<PlanConfig>({ vars, ...extra }), deps(secrets));
    expect(result.report.error).toBeUndefined();
    return {
      ...result,
      plan: result.report.plan!,
      text: readFileSync(result.report.plan!.files.text, 'utf8'),
    };
  };
  /** tofu's own line, to compare the counts with. */
  const tofuLine = (text: string) =>
    /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/.exec(text)!.slice(1).map(Number);

  let created: Awaited<ReturnType<typeof plan>>;

  test("a fresh plan: counts equal tofu's line, nothing to warn about, and a re-plan has the same hash", async () => {
    created = await plan('');
    expect(created.report.ok).toBe(true);
    expect(created.plan.exitCode).toBe(2);
    const [add, change, destroy] = tofuLine(created.text);
    expect(created.plan.counts).toMatchObject({ add, change, destroy, replace: 0 });
    expect(add).toBe(14);
    expect(created.plan.warnings).toEqual([]);
    expect(created.plan.rke2Upgrade).toBeNull();
    expect(created.report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'install:ok',
      'init:ok',
      'plan:ok',
      'show:ok',
      'comment:skipped',
    ]);
    const again = await plan('');
    expect(again.plan.resourceChangesHash).toBe(created.plan.resourceChangesHash);
  });

  test('apply of the reviewed plan, then outputs with the sensitive token withheld', async () => {
    const secrets = new SecretRegistry();
    const fresh = await plan('', {}, secrets);
    const applied = await runApply(
      config<ApplyConfig>({
        command: 'apply',
        'plan-file': fresh.plan.files.plan,
        'resource-changes-hash': fresh.plan.resourceChangesHash,
      }),
      deps(secrets),
    );
    expect(applied.report.error).toBeUndefined();
    expect(applied.report.apply).toMatchObject({ applied: true, actualHash: fresh.plan.resourceChangesHash });
    expect(applied.outputs!.outputs.ops_inventory!.value).toMatchObject({
      cluster: 'stack',
      rke2: { version: 'v1.34.4+rke2r1' },
    });
    expect(applied.outputs!.outputs.rke2_token).toEqual({ sensitive: true, value: null });
    const token = tofuSync(tofu, dir, ['output', '-raw', 'rke2_token']);
    expect(secrets.redact(`x ${token} y`)).toBe('x *** y');
    expect(JSON.stringify(applied.report)).not.toContain(token);

    const none = await plan('');
    expect(none.plan).toMatchObject({ exitCode: 0, changes: false, destructive: false, warnings: [] });
    expect(none.plan.counts).toMatchObject({ add: 0, change: 0, destroy: 0 });
    expect(renderComment(none.view!, '<!-- m -->').body).toContain(
      '### ✅ OpenTofu plan for `stack`: no changes',
    );

    const out = await runOutput(
      parseTofuConfig(
        (n) =>
          ({
            command: 'output',
            'working-directory': 'stack',
            init: 'false',
            'include-sensitive-outputs': 'true',
          })[n] ?? '',
        { cwd: root, tempDir: root },
      ) as never,
      deps(),
    );
    expect(out.outputs!.outputs.rke2_token!.value).toBe(token);
  });

  test('rke2_version change: an upgrade from/to, one change in place, no server touched', async () => {
    const up = await plan('rke2_version=v1.35.1+rke2r1');
    expect(up.plan.rke2Upgrade).toEqual({
      from: 'v1.34.4+rke2r1',
      to: 'v1.35.1+rke2r1',
      direction: 'upgrade',
      sources: ['terraform_data.guardrails.input.rke2_version', 'output.ops_inventory.rke2.version'],
    });
    expect(tofuLine(up.text)).toEqual([0, 1, 0]);
    expect(up.plan.counts).toMatchObject({ add: 0, change: 1, destroy: 0 });
    expect(up.plan.warnings).toEqual([]);
    expect(up.report.verdict).toBe(
      'stack: 0 to add, 1 to change, 0 to destroy; RKE2 upgrade v1.34.4+rke2r1 -> v1.35.1+rke2r1',
    );
  });

  test('the CLI (cli/dist): the plan and the summary, the report file, exit 1 when apply refuses, 2 on bad input', async () => {
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [join(repo, 'bin', 'rke2-ops.js'), 'tofu', ...args], {
          cwd: root,
          env: { ...process.env, ...tofu.env, PATH: `${dirname(tofu.binary)}:${process.env.PATH}` },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const planFile = join(root, 'cli.tfplan');
    const reportFile = join(root, 'cli-report.json');
    const planned = await cli([
      'plan',
      '-C',
      'stack',
      '--no-init',
      '--var',
      'rke2_version=v1.35.1+rke2r1',
      '--plan-file',
      planFile,
      '--report-file',
      reportFile,
    ]);
    expect(planned.code).toBe(0);
    // People: tofu's plan, then the verdict, the upgrade and the hash to apply with (no colour off a TTY).
    expect(planned.stdout).toMatch(
      /Plan: 0 to add, 1 to change, 0 to destroy\.[\s\S]*\nOK {2}stack: 0 to add, 1 to change, 0 to destroy; RKE2 upgrade/,
    );
    expect(planned.stdout).toContain('  RKE2 upgrade: v1.34.4+rke2r1 -> v1.35.1+rke2r1\n');
    expect(planned.stdout).not.toContain('\u001b[');
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report).toMatchObject({
      kind: 'tofu',
      command: 'plan',
      ok: true,
      plan: { rke2Upgrade: { to: 'v1.35.1+rke2r1' } },
    });
    expect(planned.stdout).toContain(`  resource changes hash: ${report.plan.resourceChangesHash}\n`);

    const refused = await cli([
      'apply',
      '-C',
      'stack',
      '--no-init',
      '--plan-file',
      planFile,
      '--resource-changes-hash',
      '0'.repeat(64),
      '--json',
    ]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, error: { phase: 'verify' } });

    const bad = await cli([
      'apply',
      '-C',
      'stack',
      '--plan-file',
      planFile,
      '--resource-changes-hash',
      'abc',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--resource-changes-hash: must be 64 hex characters (a sha256)');
  });

  test('an image change replaces every server: master-0 critical, the other masters warned, counts as tofu says', async () => {
    const r = await plan('image=debian-12');
    const [add, change, destroy] = tofuLine(r.text);
    expect(r.plan.counts).toMatchObject({ add, change, destroy, replace: 4 });
    expect(r.plan.destructive).toBe(true);
    expect(r.plan.warnings.map((w) => `${w.severity}:${w.code}:${w.address}`)).toEqual([
      'critical:master-0-replaced:terraform_data.master[0]',
      'warning:master-replaced:terraform_data.master[1]',
      'warning:master-replaced:terraform_data.master[2]',
      'notice:worker-replaced:terraform_data.worker[0]',
    ]);
    expect(r.plan.warnings[0]!.message).toContain(
      '(stack-master-0) will be REPLACED, forced by a change of triggers_replace',
    );
    const comment = renderComment(r.view!, '<!-- m -->').body;
    expect(comment).toMatch(
      /🛑 OpenTofu plan for `stack`: 4 to add, 0 to change, 4 to destroy \(4 to replace\)/,
    );
    expect(comment).toContain('> [!CAUTION]');
  });

  test('scaling masters 3 -> 1, etcd opened to the world, supervisor port moved, backups off', async () => {
    const r = await plan(
      'master_count=1\netcd_public=true\nsupervisor_port=9346\netcd_backup=false\nvelero=false',
    );
    expect(r.plan.warnings.map((w) => `${w.severity}:${w.code}:${w.address}`)).toEqual([
      'critical:control-plane-ports:terraform_data.firewall_masters',
      'warning:backup-disabled:terraform_data.cluster_config',
      'warning:backup-disabled:terraform_data.cluster_config',
      'warning:control-plane-ports:terraform_data.control_plane_lb_service["supervisor"]',
      'warning:master-destroyed:terraform_data.master[1]',
      'warning:master-destroyed:terraform_data.master[2]',
      'warning:backup-disabled:output.ops_inventory',
      'warning:backup-disabled:output.ops_inventory',
    ]);
    expect(r.plan.warnings[0]!.message).toMatch(
      /2379 \(etcd client\), 2380 \(etcd peer\).*reachable from anywhere/,
    );
  });

  test('a saved plan made stale by a later apply is refused by tofu, with the next step named', async () => {
    const a = await plan('worker_count=2');
    const b = await plan('worker_count=3', { 'plan-file': join(root, 'other.tfplan') });
    const first = await runApply(
      config<ApplyConfig>({
        command: 'apply',
        'plan-file': b.plan.files.plan,
        'resource-changes-hash': b.plan.resourceChangesHash,
      }),
      deps(),
    );
    expect(first.report.ok).toBe(true);
    const stale = await runApply(
      config<ApplyConfig>({
        command: 'apply',
        'plan-file': a.plan.files.plan,
        'resource-changes-hash': a.plan.resourceChangesHash,
      }),
      deps(),
    );
    expect(stale.report.error).toMatchObject({ phase: 'apply' });
    expect(stale.report.error!.message).toMatch(
      /Saved plan is stale[\s\S]*Next: the state changed since this plan was made; re-run the plan/,
    );
  });

  test('sensitive values (root variable, resource input, generated token) never reach text, comment, summary or report', async () => {
    const secrets = new SecretRegistry();
    const token = tofuSync(tofu, dir, ['output', '-raw', 'rke2_token']);
    const r = await plan(`hcloud_token=${HCLOUD_TOKEN}-rotated`, {}, secrets);
    expect(r.plan.resources.map((x) => x.address)).toContain('terraform_data.ccm_secret');
    const rendered = [
      r.text,
      renderComment(r.view!, '<!-- m -->').body,
      renderPlanSummary(r.view!, r.report.phases).body,
      JSON.stringify(r.report),
      log.join('\n'),
    ].join('\n');
    for (const secret of [HCLOUD_TOKEN, `${HCLOUD_TOKEN}-rotated`, token])
      expect(rendered).not.toContain(secret);
    expect(r.text).toContain('(sensitive value)');
    // They are in the plan JSON file (tofu's own, like the plan file): that is why the
    // outputs documentation says to keep those artifacts private.
    expect(readFileSync(r.plan.files.json, 'utf8')).toContain(token);
    expect(secrets.redact(`${token} ${HCLOUD_TOKEN}-rotated`)).toBe('*** ***');
  });

  test("a configuration error fails the plan phase with tofu's message and the next step", async () => {
    writeFileSync(join(dir, 'broken.tf'), 'resource "terraform_data" "x" {\n  input = var.nope\n}\n');
    try {
      const r = await runPlan(config<PlanConfig>({}), deps());
      expect(r.report.ok).toBe(false);
      expect(r.report.error).toMatchObject({ phase: 'plan' });
      expect(r.report.error!.message).toMatch(
        /tofu plan failed \(exit 1\) in stack:[\s\S]*Reference to undeclared input variable[\s\S]*Next: fix the configuration/,
      );
      expect(r.report.verdict).toBe('tofu plan failed in phase plan (stack)');
    } finally {
      rmSync(join(dir, 'broken.tf'));
    }
  });
});
