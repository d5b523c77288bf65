import type { TofuReport } from '../tofu/report.js';
import { countsLine } from '../tofu/summary.js';
import { inertText } from '../lib/inert.js';

/**
 * A tofu report for a person at a terminal: the verdict, the RKE2 version change, one line per
 * finding (critical first), the hash to apply with. Colour only when asked for (a TTY without
 * NO_COLOR); every value inert, since this text may land in a workflow log.
 */
const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

export function renderTofu(report: TofuReport, opts: { color: boolean }): string {
  const paint = (code: keyof typeof codes, text: string) =>
    opts.color ? `\u001b[${codes[code]}m${text}\u001b[0m` : text;
  const lines = [
    `${report.ok ? paint('green', paint('bold', 'OK')) : paint('red', paint('bold', 'FAILED'))}  ${inertText(report.verdict)}`,
  ];
  const plan = report.plan;
  if (plan) {
    lines.push(
      `  changes: ${countsLine(plan.counts)}${plan.outputChanges.length ? `; outputs: ${plan.outputChanges.join(', ')}` : ''}`,
    );
    if (plan.rke2Upgrade)
      lines.push(
        `  ${paint(plan.rke2Upgrade.direction === 'upgrade' ? 'bold' : 'red', `RKE2 ${plan.rke2Upgrade.direction}`)}: ${plan.rke2Upgrade.from} -> ${plan.rke2Upgrade.to}`,
      );
    for (const w of plan.warnings) {
      const label =
        w.severity === 'critical'
          ? paint('red', 'CRITICAL')
          : w.severity === 'warning'
            ? paint('yellow', 'WARNING ')
            : paint('dim', 'NOTICE  ');
      lines.push(`  ${label} ${inertText(w.message, 2000)}`);
    }
    lines.push(`  resource changes hash: ${plan.resourceChangesHash}`);
    if (report.command === 'plan') lines.push(`  plan file: ${inertText(plan.files.plan)}`);
  }
  if (report.outputs?.sensitive.length)
    lines.push(paint('dim', `  sensitive outputs withheld: ${report.outputs.sensitive.join(', ')}`));
  if (report.error)
    lines.push(paint('red', `  ${report.error.phase}: ${inertText(report.error.message, 4000)}`));
  return lines.join('\n') + '\n';
}
