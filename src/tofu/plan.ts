import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import type { PlanConfig } from './config.js';
import { parsePlanJson } from './plan-json.js';
import type { PlanView } from './render.js';
import type { CommentOutcome, PlanSection, TofuReport } from './report.js';
import { registerSensitive, sensitiveValues } from './sensitive.js';
import { TofuSession, type TofuDeps } from './session.js';
import { countsLine, summarisePlan, type PlanSummary } from './summary.js';

export interface PlanDeps extends TofuDeps {
  /** Posts the sticky PR comment (absent: no comment). Must not throw; failures are outcomes. */
  comment?: (view: PlanView) => Promise<CommentOutcome>;
  /** For the comment and summary footer. */
  runUrl?: string;
  sha?: string;
}

export interface PlanResult {
  report: TofuReport;
  /** For rendering the summary (absent when the plan failed before it existed). */
  view?: PlanView;
}

/**
 * init -> plan -out (detailed exit code) -> show -json / show -> summary -> sticky comment.
 * Never throws for a tofu failure: the report says which phase failed and why, so the front
 * end can set its outputs before failing the step.
 */
export async function runPlan(config: PlanConfig, deps: PlanDeps): Promise<PlanResult> {
  const session = new TofuSession('plan', config, deps);
  const files = { plan: config.planFile, json: `${config.planFile}.json`, text: `${config.planFile}.txt` };
  let exitCode = -1;
  let summary: PlanSummary | undefined;
  let view: PlanView | undefined;
  try {
    await session.prepare();
    await mkdir(dirname(config.planFile), { recursive: true });
    // The plan's output is logged only after its sensitive values are registered (below):
    // tofu prints some of them in clear, e.g. a terraform_data output fed by a sensitive input.
    let planLog = '';
    exitCode = await session.timer.run('plan', async () => {
      const run = await session.run([
        'plan',
        '-input=false',
        '-no-color',
        '-detailed-exitcode',
        `-out=${config.planFile}`,
        ...session.lockArgs(),
        ...config.varFiles.map((f) => `-var-file=${f}`),
        ...config.planArgs,
      ]);
      planLog = `${run.stdout}${run.stderr}`;
      session.check(run, 'plan', 'fix the configuration error above and push again', [0, 2]);
      return run.code;
    });
    const planText = await session.timer.run('show', async () => {
      // Two reads of the same plan file, independent: run them side by side.
      const [json, text] = await Promise.all([
        session.run(['show', '-json', config.planFile], { stdoutFile: files.json }),
        session.run(['show', '-no-color', config.planFile]),
      ]);
      session.check(json, 'show', 'the plan file could not be read back; re-run the plan');
      const plan = parsePlanJson(await readFile(files.json, 'utf8'), files.json);
      // Before any text of this plan is rendered anywhere.
      registerSensitive(deps.secrets, sensitiveValues(plan));
      summary = summarisePlan(plan);
      await deps.logger.group('tofu plan output', async () =>
        deps.logger.info(deps.secrets.redact(planLog.trimEnd())),
      );
      session.check(text, 'show', 'the plan file could not be rendered; re-run the plan');
      const redacted = deps.secrets.redact(text.stdout);
      await writeFile(files.text, redacted);
      return redacted;
    });
    view = {
      workingDirectory: config.displayDirectory,
      summary: summary!,
      planText,
      tofuVersion: session.tofu!.version,
      ...(deps.runUrl ? { runUrl: deps.runUrl } : {}),
      ...(deps.sha ? { sha: deps.sha } : {}),
      at: new Date(deps.clock.now()).toISOString(),
    };
    deps.logger.info(`${config.displayDirectory}: ${countsLine(summary!.counts)}`);
    for (const w of summary!.warnings) deps.logger.warning(`${w.severity}: ${w.message}`);
    const comment = await commentPhase(session, config, deps, view);
    const section = planSection(summary!, exitCode, files);
    return {
      report: session.report({
        ok: true,
        verdict: verdict(config, summary!),
        plan: section,
        ...(comment ? { comment } : {}),
      }),
      view,
    };
  } catch (error) {
    const partial: Partial<TofuReport> = summary ? { plan: planSection(summary, exitCode, files) } : {};
    return { report: session.failed(error, partial), ...(view ? { view } : {}) };
  }
}

async function commentPhase(
  session: TofuSession,
  config: PlanConfig,
  deps: PlanDeps,
  view: PlanView,
): Promise<CommentOutcome | undefined> {
  if (!config.comment) {
    session.timer.skip('comment', 'comment: false');
    return { status: 'skipped', reason: 'comment: false' };
  }
  if (!deps.comment) {
    session.timer.skip('comment', 'not a pull request');
    return { status: 'skipped', reason: 'not a pull request' };
  }
  const comment = deps.comment;
  // A comment is a convenience: its failure is a warning in the log, never a failed plan.
  const outcome = await session.timer.run('comment', async () => {
    try {
      return await comment(view);
    } catch (error) {
      return { status: 'failed', error: errorMessage(error) } as const;
    }
  });
  if (outcome.status === 'failed') {
    session.timer.phases.at(-1)!.status = 'failed';
    deps.logger.warning(
      `could not write the PR comment (the plan itself is fine): ${deps.secrets.redact(outcome.error)}`,
    );
  } else if (outcome.status !== 'skipped') deps.logger.info(`PR comment ${outcome.status}: ${outcome.url}`);
  return outcome;
}

function planSection(summary: PlanSummary, exitCode: number, files: PlanSection['files']): PlanSection {
  return {
    exitCode,
    changes: summary.changes,
    destructive: summary.destructive,
    counts: summary.counts,
    resources: summary.resources,
    outputChanges: summary.outputChanges,
    rke2Upgrade: summary.rke2Upgrade,
    warnings: summary.warnings,
    resourceChangesHash: summary.resourceChangesHash,
    files,
  };
}

function verdict(config: PlanConfig, s: PlanSummary): string {
  const parts = [
    `${config.displayDirectory}: ${s.resourceChanges ? countsLine(s.counts) : s.changes ? 'only outputs change' : 'no changes'}`,
  ];
  if (s.rke2Upgrade)
    parts.push(`RKE2 ${s.rke2Upgrade.direction} ${s.rke2Upgrade.from} -> ${s.rke2Upgrade.to}`);
  const critical = s.warnings.filter((w) => w.severity === 'critical').length;
  if (critical) parts.push(`${critical} critical finding(s)`);
  return parts.join('; ');
}
