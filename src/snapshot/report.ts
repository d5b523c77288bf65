import { tableCell } from '../github/markdown.js';
import { mermaidGantt } from '../lib/gantt.js';
import type { Session } from './session.js';
import type { SnapshotReport } from './types.js';

const seconds = (ms: number) => Math.round(ms) / 1000;

/** Completes a report: verdict, timings, everything redacted (no registered secret survives). */
export function finishReport(
  session: Session,
  partial: Partial<SnapshotReport> & Pick<SnapshotReport, 'mode' | 'startupMs'>,
): SnapshotReport {
  const { run, config, deps } = session;
  const end = deps.clock.now();
  const failed = run.checks.filter((c) => c.status === 'fail');
  const verified =
    partial.mode !== 'list' &&
    !partial.failure &&
    failed.length === 0 &&
    run.checks.some((c) => c.status === 'pass');
  const file = partial.snapshot?.file;
  const verdict =
    partial.mode === 'list'
      ? partial.failure
        ? `listing failed: ${partial.failure.message}`
        : `${partial.listing?.length ?? 0} snapshot(s); latest pre-upgrade: ${partial.latestPreUpgrade ?? 'none'}`
      : verified
        ? `${file} verified at level ${config.level}${partial.velero ? ` with Velero backup ${partial.velero.name} ${partial.velero.phase}` : ''}`
        : `NOT verified${file ? ` (${file})` : ''}: ${partial.failure ? `${partial.failure.phase} on ${partial.failure.node}: ${partial.failure.message}` : failed.map((c) => c.name).join(', ') || 'no check ran'}`;
  const report: SnapshotReport = {
    kind: 'snapshot',
    cluster: config.cluster,
    master: config.master.name,
    level: config.level,
    verified,
    verdict,
    ...partial,
    checks: run.checks,
    phases: run.phases,
    warnings: run.warnings,
    startedAt: new Date(run.started).toISOString(),
    finishedAt: new Date(end).toISOString(),
    durationSeconds: seconds(end - run.started),
  };
  return deps.secrets.redactDeep(report);
}

/** What failed, where, and what to do next - the step's error message. */
export function failureMessage(report: SnapshotReport): string {
  const f = report.failure;
  const lines = [`${report.cluster}: ${report.verdict}`];
  if (f) lines.push(`Next: ${f.next}`);
  lines.push('Nothing was deleted: the pre-upgrade marker and older snapshots are as they were.');
  return lines.join('\n');
}

const ICON = { pass: '✅ pass', fail: '❌ fail', skip: '⏭️ skip' } as const;

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The job summary: verdict, what was saved where, each check, Velero, retention, phase timings. */
export function summaryMarkdown(report: SnapshotReport): string {
  const s = report.snapshot;
  const out = [
    `## Snapshot (${report.mode}): ${tableCell(report.cluster)}`,
    '',
    report.mode === 'list'
      ? `📋 ${tableCell(report.verdict)}`
      : report.verified
        ? `✅ **Verified** at level \`${report.level}\` - ${tableCell(report.verdict)}`
        : `❌ **Not verified** - ${tableCell(report.verdict)}`,
    '',
  ];
  if (report.failure)
    out.push(
      `**Failed in** ${tableCell(report.failure.phase)} on ${tableCell(report.failure.node)}. **Next:** ${tableCell(report.failure.next)}`,
      '',
    );
  if (s) {
    out.push(
      '| What | Where | Size | sha256 |',
      '| --- | --- | --- | --- |',
      `| etcd snapshot | ${tableCell(`${report.master}:${s.localPath}`)} | ${bytes(s.size)} | \`${s.sha256}\` |`,
      ...(s.s3Key
        ? [
            `| S3 copy | ${tableCell(`s3://${report.metadata?.s3?.bucket ?? ''}/${s.s3Key}`)} | ${bytes(s.size)} | ${report.checks.some((c) => c.name === 's3-sha256' && c.status === 'pass') ? 'same' : 'not verified'} |`,
          ]
        : []),
      ...(report.metadataStored
        ? [
            `| metadata | master: ${tableCell(report.metadataStored.local)}; S3: ${tableCell(report.metadataStored.s3)} | | |`,
          ]
        : []),
      ...(report.velero
        ? [
            `| Velero backup | ${tableCell(`${report.velero.namespace}/${report.velero.name}`)} | ${tableCell(report.velero.phase || 'not run')} | |`,
          ]
        : []),
      '',
    );
    if (report.marked)
      out.push(
        `Rollback target: \`server/last-pre-upgrade-snapshot\` on ${tableCell(report.master)} now names \`${s.file}\`.`,
        '',
      );
  }
  if (report.checks.length) {
    out.push('| Check | Level | Status | Detail | Time |', '| --- | --- | --- | --- | --- |');
    for (const c of report.checks)
      out.push(
        `| ${tableCell(c.name)} | ${c.level} | ${ICON[c.status]} | ${tableCell(c.message)} | ${c.durationMs !== undefined ? `${c.durationMs} ms` : ''} |`,
      );
    out.push('');
  }
  if (report.retention)
    out.push(
      `Retention (prefix \`${report.metadata?.prefix ?? ''}\`, keep ${report.retention.keep}): deleted ${report.retention.deleted.length ? report.retention.deleted.map((f) => `\`${f}\``).join(', ') : 'nothing'}.`,
      '',
    );
  if (report.listing) {
    out.push('| Snapshot | Created | Origin | Where | Verified | |', '| --- | --- | --- | --- | --- | --- |');
    for (const e of report.listing)
      out.push(
        `| \`${e.file}\` | ${e.createdAt} | ${e.origin}${e.metadata ? ` (${e.metadata.kind})` : ''} | ${tableCell(e.locations.map((l) => (l.storage === 's3' ? 'S3' : l.node)).join(', '))} | ${e.verified === null ? '-' : e.verified ? `✅ ${e.verifiedLevel}` : '❌'} | ${e.latestPreUpgrade ? '⭐ latest pre-upgrade' : ''} |`,
      );
    out.push('');
  }
  for (const w of report.warnings) out.push(`⚠️ ${tableCell(w)}`);
  if (report.warnings.length) out.push('');
  out.push('| Phase | Status | Seconds |', '| --- | --- | --- |');
  for (const p of report.phases)
    out.push(`| ${tableCell(p.name)} | ${p.status} | ${p.durationSeconds.toFixed(2)} |`);
  out.push(
    '',
    ...mermaidGantt(report.phases, `${report.mode} ${report.cluster}`),
    '',
    `Duration ${report.durationSeconds} s.`,
    '',
  );
  return out.join('\n');
}
