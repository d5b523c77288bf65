import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { readHealthConfig } from '../../health/config.js';
import { errorMessage } from '../../lib/errors.js';
import { runHealthCheck } from '../../health/run.js';
import { writeReportFile } from '../../health/report-file.js';
import { defaultHealthIo, type HealthIo } from '../../health/deps.js';
import { failureMessage, summaryMarkdown } from '../../health/report.js';

export const Outputs = {
  healthy: 'healthy',
  timeToHealthy: 'time-to-healthy-seconds',
  duration: 'duration-seconds',
  report: 'report',
  reportFile: 'report-file',
  failedChecks: 'failed-checks',
  polls: 'polls',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('health-check', (ctx) => execute(ctx));
}

/** Inputs -> health check -> outputs, summary, verdict. Outputs are set before the step fails. */
export async function execute(ctx: ActionContext, deps: HealthIo = defaultHealthIo): Promise<void> {
  const config = await readHealthConfig(ctx.getInput, ctx.secrets);
  config.warnings.forEach((w) => ctx.logger.warning(w));
  const report = await runHealthCheck(config.health, {
    ...deps,
    credentials: config.credentials,
    logger: ctx.logger,
    secrets: ctx.secrets,
  });
  const reportFile = await writeReportFile(report);
  core.setOutput(Outputs.healthy, String(report.healthy));
  core.setOutput(
    Outputs.timeToHealthy,
    report.timeToHealthySeconds === null ? '' : String(report.timeToHealthySeconds),
  );
  core.setOutput(Outputs.duration, String(report.durationSeconds));
  core.setOutput(Outputs.report, JSON.stringify(report));
  core.setOutput(Outputs.reportFile, reportFile);
  core.setOutput(Outputs.failedChecks, JSON.stringify(report.failedChecks));
  core.setOutput(Outputs.polls, String(report.polls));
  try {
    await core.summary.addRaw(ctx.secrets.redact(summaryMarkdown(report))).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  ctx.logger.info(`${report.cluster}: ${report.verdict}`);
  if (!report.healthy) {
    const message = failureMessage(report);
    if (config.failOnUnhealthy) throw new Error(message);
    ctx.logger.warning(`${message}\n(fail-on-unhealthy is false: the step passes)`);
  }
}
