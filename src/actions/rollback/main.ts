import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { errorMessage } from '../../lib/errors.js';
import { readRollbackConfig } from '../../rollback/config.js';
import { defaultRollbackIo, type RollbackIo } from '../../rollback/deps.js';
import { runRollback } from '../../rollback/execute.js';
import { failureMessage, summaryMarkdown, writeReportFile } from '../../rollback/report.js';
import type { RollbackReport } from '../../rollback/types.js';

export const Outputs = {
  ok: 'ok',
  mttr: 'mttr-seconds',
  snapshot: 'snapshot',
  version: 'version',
  healthy: 'healthy',
  healthVerdict: 'health-verdict',
  failedPhase: 'failed-phase',
  plan: 'plan',
  report: 'report',
  reportFile: 'report-file',
  duration: 'duration-seconds',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('rollback', (ctx) => execute(ctx));
}

/** Inputs -> rollback core -> outputs, report, summary, verdict. Outputs are set before the step fails. */
export async function execute(ctx: ActionContext, io: RollbackIo = defaultRollbackIo): Promise<void> {
  const config = await readRollbackConfig(ctx.getInput, ctx.secrets);
  config.warnings.forEach((w) => ctx.logger.warning(w));
  const report = await runRollback(config.rollback, {
    ...io,
    credentials: config.credentials,
    logger: ctx.logger,
    secrets: ctx.secrets,
    progress: (e) => {
      if (e.type === 'phase-start') ctx.logger.info(`phase ${e.id}: started`);
      else if (e.type === 'phase-end') ctx.logger.info(`phase ${e.id}: ${e.status} in ${e.seconds} s`);
      else if (e.type === 'node')
        ctx.logger.info(`  ${e.phase} ${e.node}: ${e.status} (${e.seconds} s) ${e.message}`);
    },
  });
  setOutputs(report);
  core.setOutput(Outputs.reportFile, await writeReportFile(report));
  try {
    await core.summary.addRaw(ctx.secrets.redact(summaryMarkdown(report))).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  ctx.logger.info(`${report.cluster}: ${report.verdict}`);
  if (!report.ok) throw new Error(failureMessage(report));
}

function setOutputs(report: RollbackReport): void {
  core.setOutput(Outputs.ok, String(report.ok));
  core.setOutput(Outputs.mttr, report.mttrSeconds === null ? '' : String(report.mttrSeconds));
  core.setOutput(Outputs.snapshot, report.snapshot?.file ?? '');
  core.setOutput(Outputs.version, report.version ?? '');
  core.setOutput(Outputs.healthy, report.health ? String(report.health.healthy) : '');
  core.setOutput(Outputs.healthVerdict, report.health?.verdict ?? '');
  core.setOutput(Outputs.failedPhase, report.failure?.phase ?? '');
  core.setOutput(Outputs.plan, JSON.stringify(report.plan));
  core.setOutput(Outputs.report, JSON.stringify(report));
  core.setOutput(Outputs.duration, String(report.durationSeconds));
}
