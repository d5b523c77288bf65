import { codeBlock, inlineCode, tableCell } from '../github/markdown.js';
import { phasesGantt, phasesTable } from './render.js';
import type { TofuReport } from './report.js';
import { countsLine } from './summary.js';

/**
 * Job summaries for apply, output, and any failed run (a successful plan has its own, with the
 * plan text: renderPlanSummary). Built from the report alone, which holds no sensitive value.
 */
export function renderReportSummary(report: TofuReport): string {
  const icon = report.ok ? '✅' : '❌';
  const lines = [
    `## ${icon} OpenTofu ${report.command} in ${inlineCode(report.workingDirectory)}`,
    '',
    report.verdict,
    '',
  ];
  if (report.error) {
    lines.push(`**Failed in phase \`${report.error.phase}\`:**`, '', codeBlock(report.error.message), '');
  }
  if (report.apply) {
    lines.push(
      '| Reviewed hash | Saved plan hash | Applied |',
      '| --- | --- | --- |',
      `| ${inlineCode(report.apply.expectedHash)} | ${report.apply.actualHash ? inlineCode(report.apply.actualHash) : '-'} | ${report.apply.applied ? 'yes' : 'no'} |`,
      '',
    );
  }
  const plan = report.plan;
  if (plan) {
    lines.push(`Changes: ${countsLine(plan.counts)}.`, '');
    if (plan.rke2Upgrade)
      lines.push(
        `RKE2 ${plan.rke2Upgrade.direction}: ${inlineCode(plan.rke2Upgrade.from)} → ${inlineCode(plan.rke2Upgrade.to)}`,
        '',
      );
    if (plan.warnings.length)
      lines.push(...plan.warnings.map((w) => `- **${w.severity}** ${tableCell(w.message)}`), '');
  }
  if (report.outputs) {
    lines.push(
      '| Output | Sensitive |',
      '| --- | --- |',
      ...report.outputs.names.map(
        (n) =>
          `| ${tableCell(n)} | ${report.outputs!.sensitive.includes(n) ? 'yes (value withheld)' : 'no'} |`,
      ),
      '',
    );
  }
  lines.push(...phasesTable(report.phases), '', ...phasesGantt(report.phases), '');
  lines.push(
    `<sub>${report.tofu ? `OpenTofu ${report.tofu.version} (${report.tofu.source}) · ` : ''}${report.durationSeconds} s</sub>`,
    '',
  );
  return lines.join('\n');
}
