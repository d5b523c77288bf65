import * as core from '@actions/core';
import * as tc from '@actions/tool-cache';
import { runAction, type ActionContext } from '../common/runtime.js';
import { readSnapshotConfig } from '../../snapshot/config.js';
import { errorMessage } from '../../lib/errors.js';
import { runSnapshot } from '../../snapshot/run.js';
import { defaultSnapshotIo, type SnapshotIo } from '../../snapshot/deps.js';
import { failureMessage, summaryMarkdown } from '../../snapshot/report.js';
import { writeReportFile } from '../../snapshot/report-file.js';
import type { SnapshotReport } from '../../snapshot/types.js';

export const Outputs = {
  verified: 'verified',
  snapshot: 'snapshot',
  sha256: 'sha256',
  size: 'size',
  s3Key: 's3-key',
  localPath: 'local-path',
  rke2Version: 'rke2-version',
  rke2Versions: 'rke2-versions',
  veleroBackup: 'velero-backup',
  veleroPhase: 'velero-phase',
  metadata: 'metadata',
  latestPreUpgrade: 'latest-pre-upgrade',
  snapshots: 'snapshots',
  failedChecks: 'failed-checks',
  report: 'report',
  reportFile: 'report-file',
  duration: 'duration-seconds',
} as const;

/** The action's entry point (GitHub's typescript-action convention): one error boundary, then execute. */
export async function run(): Promise<void> {
  await runAction('snapshot', (ctx) => execute(ctx));
}

/** The runner's tool cache (etcd's tools are cached across jobs on self-hosted runners). */
const actionIo: SnapshotIo = { ...defaultSnapshotIo, toolCache: tc };

/** Inputs -> snapshot core (save | verify | list) -> outputs, report, summary, verdict. Outputs are set before the step fails. */
export async function execute(ctx: ActionContext, io: SnapshotIo = actionIo): Promise<void> {
  const config = await readSnapshotConfig(ctx.getInput, ctx.secrets);
  config.warnings.forEach((w) => ctx.logger.warning(w));
  const report = await runSnapshot(config.snapshot, {
    ...io,
    credentials: config.credentials,
    logger: ctx.logger,
    secrets: ctx.secrets,
  });
  setOutputs(report);
  core.setOutput(Outputs.reportFile, await writeReportFile(report));
  try {
    await core.summary.addRaw(ctx.secrets.redact(summaryMarkdown(report))).write();
  } catch (error) {
    ctx.logger.warning(`could not write the job summary: ${errorMessage(error)}`);
  }
  ctx.logger.info(`${report.cluster}: ${report.verdict}`);
  const failed = report.mode === 'list' ? Boolean(report.failure) : !report.verified;
  if (failed) {
    const message = failureMessage(report);
    if (config.snapshot.failOnUnverified) throw new Error(message);
    ctx.logger.warning(`${message}\n(fail-on-unverified is false: the step passes)`);
  }
}

function setOutputs(report: SnapshotReport): void {
  const s = report.snapshot;
  const v = report.velero;
  core.setOutput(Outputs.verified, String(report.verified));
  core.setOutput(Outputs.snapshot, s?.file ?? '');
  core.setOutput(Outputs.sha256, s?.sha256 ?? '');
  core.setOutput(Outputs.size, s ? String(s.size) : '');
  core.setOutput(Outputs.s3Key, s?.s3Key ?? '');
  core.setOutput(Outputs.localPath, s?.localPath ?? '');
  const versions = report.facts?.nodeVersions ?? report.metadata?.rke2.nodes ?? {};
  core.setOutput(Outputs.rke2Version, report.facts?.serverVersion ?? report.metadata?.rke2.server ?? '');
  core.setOutput(Outputs.rke2Versions, JSON.stringify(versions));
  core.setOutput(Outputs.veleroBackup, v?.name ?? '');
  core.setOutput(Outputs.veleroPhase, v?.phase ?? '');
  core.setOutput(Outputs.metadata, report.metadata ? JSON.stringify(report.metadata) : '');
  core.setOutput(Outputs.latestPreUpgrade, report.latestPreUpgrade ?? '');
  core.setOutput(Outputs.snapshots, report.listing ? JSON.stringify(report.listing) : '');
  core.setOutput(
    Outputs.failedChecks,
    JSON.stringify(report.checks.filter((c) => c.status === 'fail').map((c) => c.name)),
  );
  core.setOutput(Outputs.report, JSON.stringify(report));
  core.setOutput(Outputs.duration, String(report.durationSeconds));
}
