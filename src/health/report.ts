import type { HealthReport } from './run.js';
import type { Check } from './types.js';
import { inertText } from '../lib/inert.js';

/**
 * Renderings of a health report for people: the failure message (what failed, where, what to
 * do next) and a Markdown summary with a verdict line and one row per check.
 */
export function failureMessage(report: HealthReport): string {
  // No master can ever be used: one clear error, not a list of checks that were never evaluated.
  if (report.fatal) return `cluster ${report.cluster}: ${report.fatal}`;
  const failed = report.checks.filter((c) => c.status === 'fail');
  const lines = failed.map(
    (c) => `- ${c.name}${c.failing?.length ? ` [${c.failing.join(', ')}]` : ''}: ${c.message}`,
  );
  return [
    `cluster ${report.cluster} is NOT healthy after ${report.polls} poll(s) in ${report.durationSeconds} s; failed checks: ${failed.map((c) => c.name).join(', ')}`,
    ...lines,
    ...(report.stoppedEarly ? [report.stoppedEarly] : []),
    'Next: inspect the named nodes and pods (kubectl describe); after an upgrade, consider the rollback action with the pre-upgrade snapshot.',
  ].join('\n');
}

const ICON: Record<Check['status'], string> = { pass: '✅ pass', fail: '❌ fail', skip: '⏭️ skip' };

function cell(text: string): string {
  return inertText(text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>'), 2000);
}

export function summaryMarkdown(report: HealthReport): string {
  const verdict = report.healthy
    ? `✅ **Healthy** - all checks passed after ${report.polls} poll(s); time to healthy ${report.timeToHealthySeconds} s`
    : `❌ **Not healthy** - ${report.failedChecks.length} check(s) failing after ${report.polls} poll(s) in ${report.durationSeconds} s: ${report.failedChecks.join(', ')}`;
  const via = report.pollHistory.at(-1)?.via;
  const unreachable = report.pollHistory.at(-1)?.unreachable ?? [];
  return [
    `## Health check: ${report.cluster}`,
    '',
    verdict,
    '',
    '| Check | Status | Detail | Nodes |',
    '| --- | --- | --- | --- |',
    ...report.checks.map(
      (c) =>
        `| ${cell(c.name)} | ${ICON[c.status]} | ${cell(c.message)} | ${cell(c.failing?.join(', ') ?? '')} |`,
    ),
    '',
    `Probed via ${via ?? 'no master'}; duration ${report.durationSeconds} s; timeout ${report.timeoutSeconds} s, poll interval ${report.pollIntervalSeconds} s.`,
    ...(unreachable.length
      ? ['', `⚠️ Not answering: ${unreachable.map((a) => `${a.host} (${cell(a.error)})`).join('; ')}`]
      : []),
    ...(report.fatal ? ['', `⛔ Stopped at once: ${cell(report.fatal)}`] : []),
    ...(report.stoppedEarly ? ['', `⛔ ${cell(report.stoppedEarly)}`] : []),
    ...sshTable(report),
    '',
  ].join('\n');
}

/** Per-node SSH access (the rollback-readiness check), one row per node. */
function sshTable(report: HealthReport): string[] {
  if (report.ssh.check === 'none' || report.ssh.nodes.length === 0) return [];
  return [
    '',
    `### SSH access (ssh-check: ${report.ssh.check})`,
    '',
    '| Node | Role | Address | Status | Host key | Detail |',
    '| --- | --- | --- | --- | --- | --- |',
    ...report.ssh.nodes.map(
      (n) =>
        `| ${cell(n.node)} | ${n.role ?? ''} | ${cell(`${n.address}:${n.port}`)} | ${n.ok ? '✅ ok' : `❌ ${n.status}`} | ${cell(n.hostKeyFingerprint ?? '')} | ${cell(n.ok ? `${n.durationMs} ms` : n.message)} |`,
    ),
  ];
}
