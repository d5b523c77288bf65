import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { errorMessage } from '../../lib/errors.js';
import { readGitHubContext } from '../../github/context.js';
import { readIncidentConfig } from '../../incident/config.js';
import { runIncident, type IncidentReport } from '../../incident/run.js';
import { summaryMarkdown, writeReportFile } from '../../incident/summary.js';
import { defaultDeps, type IncidentActionDeps } from './deps.js';

export const Outputs = {
  action: 'action',
  issueNumber: 'issue-number',
  issueUrl: 'issue-url',
  duplicatesClosed: 'duplicates-closed',
  reportOk: 'report-ok',
  report: 'report',
  reportFile: 'report-file',
  duration: 'duration-seconds',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('incident', (ctx) => execute(ctx));
}

/** Inputs -> incident core (open / comment / close one issue) -> outputs, job summary. */
export async function execute(ctx: ActionContext, deps: IncidentActionDeps = defaultDeps): Promise<void> {
  const gh = readGitHubContext(deps.env);
  const config = await readIncidentConfig(ctx.getInput, ctx.secrets, {
    ...(deps.env.GITHUB_REPOSITORY ? { repository: deps.env.GITHUB_REPOSITORY } : {}),
  });
  const client = deps.createGitHubClient({ token: config.token, apiUrl: gh.apiUrl, secrets: ctx.secrets });
  const report = await runIncident(config.incident, {
    client,
    logger: ctx.logger,
    secrets: ctx.secrets,
    clock: deps.clock,
    run: {
      ...(gh.runUrl ? { url: gh.runUrl } : {}),
      ...(gh.runId ? { id: gh.runId } : {}),
      ...(gh.runAttempt ? { attempt: gh.runAttempt } : {}),
    },
  });
  await setOutputs(report);
  try {
    await core.summary.addRaw(ctx.secrets.redact(summaryMarkdown(report))).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  report.warnings.forEach((w) => ctx.logger.warning(w));
  ctx.logger.info(report.verdict);
}

async function setOutputs(report: IncidentReport): Promise<void> {
  core.setOutput(Outputs.action, report.action);
  core.setOutput(Outputs.issueNumber, report.issue ? String(report.issue.number) : '');
  core.setOutput(Outputs.issueUrl, report.issue?.url ?? '');
  core.setOutput(Outputs.duplicatesClosed, JSON.stringify(report.duplicatesClosed));
  core.setOutput(Outputs.reportOk, String(report.subject.ok));
  core.setOutput(Outputs.report, JSON.stringify(report));
  core.setOutput(Outputs.reportFile, await writeReportFile(report));
  core.setOutput(Outputs.duration, String(report.durationSeconds));
}
