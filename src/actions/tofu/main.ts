import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { errorMessage } from '../../lib/errors.js';
import { readGitHubContext, type GitHubContext } from '../../github/context.js';
import { installTofu } from '../../tofu/install.js';
import { createTofuExec } from '../../tofu/exec.js';
import type { TofuDeps } from '../../tofu/session.js';
import { runPlan } from '../../tofu/plan.js';
import { runApply } from '../../tofu/apply.js';
import { runOutput, type OutputsResult } from '../../tofu/outputs.js';
import { postPlanComment } from '../../tofu/comment.js';
import { renderPlanSummary, type PlanView } from '../../tofu/render.js';
import { renderReportSummary } from '../../tofu/render-report.js';
import { writeReportFile, type CommentOutcome, type TofuReport } from '../../tofu/report.js';
import type { PlanConfig } from '../../tofu/config.js';
import { getInputs, type TofuActionConfig } from './inputs.js';
import { defaultDeps, type TofuActionDeps } from './deps.js';

export const Outputs = {
  tofuVersion: 'tofu-version',
  tofuPath: 'tofu-path',
  exitCode: 'exit-code',
  changes: 'changes',
  destructive: 'destructive',
  toAdd: 'to-add',
  toChange: 'to-change',
  toDestroy: 'to-destroy',
  toReplace: 'to-replace',
  rke2Upgrade: 'rke2-upgrade',
  rke2From: 'rke2-version-from',
  rke2To: 'rke2-version-to',
  rke2Direction: 'rke2-version-direction',
  warnings: 'warnings',
  hash: 'resource-changes-hash',
  planFile: 'plan-file',
  planJsonFile: 'plan-json-file',
  planTextFile: 'plan-text-file',
  commentId: 'comment-id',
  commentUrl: 'comment-url',
  applied: 'applied',
  outputs: 'outputs',
  opsInventory: 'ops-inventory',
  report: 'report',
  reportFile: 'report-file',
  duration: 'duration-seconds',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('tofu', (ctx) => execute(ctx));
}

/** Inputs -> tofu core (plan | apply | output) -> outputs, job summary, verdict. */
export async function execute(ctx: ActionContext, deps: TofuActionDeps = defaultDeps): Promise<void> {
  const config = getInputs(ctx.getInput, ctx.secrets, { cwd: deps.cwd(), tempDir: deps.env.RUNNER_TEMP });
  const gh = readGitHubContext(deps.env);
  const tofuDeps: TofuDeps = {
    resolveTofu: async () => {
      const installed = await installTofu(config.tofu.install, {
        toolCache: deps.toolCache,
        logger: ctx.logger,
        path: deps.env.PATH,
      });
      // Later steps of the job run the same tofu.
      if (installed.source !== 'path') core.addPath(installed.dir);
      return { binary: installed.binary, version: installed.version, source: installed.source };
    },
    createExec: (binary, env) => createTofuExec(binary, { logger: ctx.logger, secrets: ctx.secrets, env }),
    logger: ctx.logger,
    secrets: ctx.secrets,
    clock: deps.clock,
  };

  let report: TofuReport;
  let summary: string;
  let outputs: OutputsResult | undefined;
  const tofu = config.tofu;
  if (tofu.command === 'plan') {
    const result = await runPlan(tofu, {
      ...tofuDeps,
      comment: commentPoster(ctx, deps, config, tofu, gh),
      ...(gh.runUrl ? { runUrl: gh.runUrl } : {}),
      ...(gh.sha ? { sha: gh.sha } : {}),
    });
    report = result.report;
    summary = result.view && report.ok ? planSummary(result.view, report) : renderReportSummary(report);
  } else {
    const result =
      tofu.command === 'apply' ? await runApply(tofu, tofuDeps) : await runOutput(tofu, tofuDeps);
    report = result.report;
    outputs = result.outputs;
    summary = renderReportSummary(report);
  }

  setOutputs(report, outputs);
  const reportFile = await writeReportFile(report, tofu.scratchDir);
  core.setOutput(Outputs.reportFile, reportFile);
  try {
    await core.summary.addRaw(ctx.secrets.redact(summary)).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  ctx.logger.info(report.verdict);
  if (!report.ok) throw new Error(`${report.verdict}: ${report.error?.message ?? 'unknown error'}`);
}

function planSummary(view: PlanView, report: TofuReport): string {
  const files = report.plan?.files;
  return renderPlanSummary(view, report.phases, {
    ...(report.comment && 'url' in report.comment ? { commentUrl: report.comment.url } : {}),
    ...(files
      ? { files: { 'plan file': files.plan, 'plan JSON': files.json, 'plan text': files.text } }
      : {}),
  }).body;
}

/** The sticky PR comment, or why there is none (never an error for the step). */
function commentPoster(
  ctx: ActionContext,
  deps: TofuActionDeps,
  config: TofuActionConfig,
  plan: PlanConfig,
  gh: GitHubContext,
): (view: PlanView) => Promise<CommentOutcome> {
  return async (view) => {
    const pr = plan.pullRequest ?? gh.pullRequest;
    if (!pr) return { status: 'skipped', reason: 'not a pull request' };
    if (!gh.repository) return { status: 'skipped', reason: 'GITHUB_REPOSITORY is not set' };
    if (!config.githubToken) return { status: 'skipped', reason: 'no github-token' };
    const client = deps.createGitHubClient({
      token: config.githubToken,
      apiUrl: gh.apiUrl,
      secrets: ctx.secrets,
    });
    return postPlanComment(client, { ...gh.repository, issueNumber: pr }, plan.commentKey, view, {
      logger: ctx.logger,
      secrets: ctx.secrets,
    });
  };
}

function setOutputs(report: TofuReport, outputs: OutputsResult | undefined): void {
  const set = (name: string, value: string | number | boolean) => core.setOutput(name, String(value));
  set(Outputs.duration, report.durationSeconds);
  set(Outputs.report, JSON.stringify(report));
  if (report.tofu) {
    set(Outputs.tofuVersion, report.tofu.version);
    set(Outputs.tofuPath, report.tofu.binary);
  }
  const plan = report.plan;
  if (plan) {
    if (report.command === 'plan') {
      set(Outputs.exitCode, plan.exitCode);
      set(Outputs.planFile, plan.files.plan);
      set(Outputs.planJsonFile, plan.files.json);
      set(Outputs.planTextFile, plan.files.text);
    }
    set(Outputs.changes, plan.changes);
    set(Outputs.destructive, plan.destructive);
    set(Outputs.toAdd, plan.counts.add);
    set(Outputs.toChange, plan.counts.change);
    set(Outputs.toDestroy, plan.counts.destroy);
    set(Outputs.toReplace, plan.counts.replace);
    // Any RKE2 version change: the upgrade workflow snapshots first either way (a downgrade is
    // also a critical warning).
    set(Outputs.rke2Upgrade, plan.rke2Upgrade !== null);
    set(Outputs.rke2Direction, plan.rke2Upgrade?.direction ?? '');
    set(Outputs.rke2From, plan.rke2Upgrade?.from ?? '');
    set(Outputs.rke2To, plan.rke2Upgrade?.to ?? '');
    set(Outputs.warnings, JSON.stringify(plan.warnings));
    set(Outputs.hash, plan.resourceChangesHash);
  }
  if (report.comment && 'id' in report.comment) {
    set(Outputs.commentId, report.comment.id);
    set(Outputs.commentUrl, report.comment.url);
  }
  if (report.apply) set(Outputs.applied, report.apply.applied);
  if (outputs) {
    // Withheld sensitive values are null here; included ones were registered (masked) on read.
    set(Outputs.outputs, JSON.stringify(outputs.outputs));
    const inv = outputs.outputs.ops_inventory;
    if (inv && inv.value !== null) set(Outputs.opsInventory, JSON.stringify(inv.value));
  }
}
