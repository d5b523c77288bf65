import * as core from '@actions/core';
import { runAction, type ActionContext } from '../common/runtime.js';
import { errorMessage } from '../../lib/errors.js';
import { parseBackupConfig } from '../../backup/config.js';
import { checkBackupFreshness, type BackupFreshnessReport } from '../../backup/freshness.js';
import { summaryMarkdown, writeReportFile } from '../../backup/summary.js';
import { defaultDeps, type BackupFreshnessActionDeps } from './deps.js';

export const Outputs = {
  ok: 'ok',
  failedChecks: 'failed-checks',
  etcdSnapshot: 'etcd-snapshot',
  etcdSnapshotAge: 'etcd-snapshot-age-seconds',
  veleroBackup: 'velero-backup',
  veleroBackupAge: 'velero-backup-age-seconds',
  restoreDrill: 'restore-drill',
  report: 'report',
  reportFile: 'report-file',
  duration: 'duration-seconds',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('backup-freshness', (ctx) => execute(ctx));
}

/** Inputs -> freshness core (both object stores, the optional restore drill) -> outputs, job summary; fails on a breach. */
export async function execute(
  ctx: ActionContext,
  deps: BackupFreshnessActionDeps = defaultDeps,
): Promise<void> {
  const config = parseBackupConfig(ctx.getInput, ctx.secrets);
  const store = deps.objectStore(config.s3, ctx.secrets);
  let report: BackupFreshnessReport;
  try {
    report = await checkBackupFreshness(config, {
      store,
      clock: deps.clock,
      secrets: ctx.secrets,
      toolCache: deps.toolCache,
      logger: ctx.logger,
    });
  } finally {
    store.close?.();
  }
  await setOutputs(report);
  try {
    await core.summary.addRaw(ctx.secrets.redact(summaryMarkdown(report))).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  for (const c of report.checks) ctx.logger.info(`${c.status.toUpperCase()} ${c.name}: ${c.message}`);
  if (report.ok) ctx.logger.info(report.verdict);
  else if (config.failOnBreach) core.setFailed(ctx.secrets.redact(report.verdict));
  else ctx.logger.warning(report.verdict);
}

async function setOutputs(r: BackupFreshnessReport): Promise<void> {
  core.setOutput(Outputs.ok, String(r.ok));
  core.setOutput(Outputs.failedChecks, JSON.stringify(r.failedChecks));
  core.setOutput(Outputs.etcdSnapshot, r.etcd?.name ?? '');
  core.setOutput(Outputs.etcdSnapshotAge, r.etcd ? String(Math.round(r.etcd.ageSeconds)) : '');
  core.setOutput(Outputs.veleroBackup, r.velero?.name ?? '');
  core.setOutput(
    Outputs.veleroBackupAge,
    r.velero?.ageSeconds === undefined ? '' : String(Math.round(r.velero.ageSeconds)),
  );
  const drill = r.checks.find((c) => c.name === 'etcd-restore-drill');
  core.setOutput(Outputs.restoreDrill, drill ? (drill.status === 'pass' ? 'passed' : 'failed') : '');
  core.setOutput(Outputs.report, JSON.stringify(r));
  core.setOutput(Outputs.reportFile, await writeReportFile(r));
  core.setOutput(Outputs.duration, String(r.durationSeconds));
}
