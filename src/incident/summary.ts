import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inlineCode, tableCell } from '../github/markdown.js';
import { inertText } from '../lib/inert.js';
import type { IncidentReport } from './run.js';

const ICON: Record<IncidentReport['action'], string> = {
  opened: '🔥 opened',
  commented: '💬 commented',
  'already-reported': '💬 already reported',
  closed: '✅ closed',
  none: '➖ nothing to do',
};

/** The job summary: what the incident step did, with links. */
export function summaryMarkdown(report: IncidentReport): string {
  const issue = report.issue ? `[#${report.issue.number}](${report.issue.url})` : '-';
  return [
    `## Incident: ${inertText(report.subject.kind)} on ${inlineCode(report.subject.cluster)}`,
    '',
    `${ICON[report.action]} - ${tableCell(inertText(report.verdict, 500))}`,
    '',
    '| Report | Failed checks | Issue | Duplicates closed | Snapshot named |',
    '| --- | --- | --- | --- | --- |',
    `| ${report.subject.ok ? '✅ passing' : '❌ failing'} | ${report.subject.failures} | ${issue} | ${
      report.duplicatesClosed.map((n) => `#${n}`).join(', ') || '-'
    } | ${report.snapshot ? inlineCode(report.snapshot) : '-'} |`,
    '',
    ...report.warnings.map((w) => `⚠️ ${tableCell(inertText(w, 500))}`),
    `Labels: ${report.labels.map((l) => inlineCode(l)).join(', ')}; ${report.durationSeconds} s.`,
    '',
  ].join('\n');
}

export async function writeReportFile(
  report: IncidentReport,
  dir = process.env.RUNNER_TEMP || tmpdir(),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `rke2-ops-incident-${report.subject.kind}-${report.subject.cluster}-${stamp}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
