import { inertLines } from '../lib/inert.js';
import { renderPlan } from '../rollback/plan.js';
import type { ProgressEvent } from '../rollback/deps.js';
import type { RollbackReport } from '../rollback/types.js';

const paint = (color: boolean, code: number, text: string) =>
  color ? `\u001b[${code}m${text}\u001b[0m` : text;
const statusText = (color: boolean, s: string) =>
  paint(color, s === 'ok' || s === 'pass' ? 32 : s === 'failed' || s === 'fail' ? 31 : 33, s);

/** One line per event, for stderr while the rollback runs. */
export function renderProgress(e: ProgressEvent, color: boolean): string {
  if (e.type === 'phase-start') return `${paint(color, 1, '▶')} ${e.name}`;
  if (e.type === 'phase-end') return `  ${statusText(color, e.status)} ${e.name} (${e.seconds} s)`;
  return `    ${e.node}: ${statusText(color, e.status)} ${e.seconds} s - ${inertLines(e.message.split('\n')[0] ?? '')}`;
}

/** The report for a person: verdict, timeline with bars, MTTR, the failure, the plan on a dry run. */
export function renderRollback(report: RollbackReport, opts: { color: boolean }): string {
  const { color } = opts;
  const out: string[] = [];
  out.push(
    paint(
      color,
      1,
      `rollback ${report.cluster}: ${report.ok ? paint(color, 32, 'OK') : paint(color, 31, report.dryRun ? 'DRY RUN' : 'FAILED')}`,
    ),
  );
  out.push(`  ${report.verdict}`);
  if (report.snapshot)
    out.push(`  snapshot ${report.snapshot.file} (${report.snapshot.source.kind}), RKE2 ${report.version}`);
  if (report.dryRun && report.plan.length) out.push('', renderPlan(report.plan));
  const ran = report.phases.filter((p) => p.status !== 'skipped' || p.note);
  if (ran.length && !report.dryRun) {
    const t0 = Math.min(...report.phases.map((p) => p.startedAt));
    const total = Math.max(1, ...report.phases.map((p) => p.startedAt - t0 + p.durationSeconds * 1000));
    const width = 40;
    out.push('', 'timeline:');
    for (const p of report.phases) {
      const start = Math.round(((p.startedAt - t0) / total) * width);
      const len =
        p.status === 'skipped' ? 0 : Math.max(1, Math.round(((p.durationSeconds * 1000) / total) * width));
      const bar =
        ' '.repeat(Math.min(width, start)) + '█'.repeat(Math.min(width - Math.min(width, start), len));
      out.push(
        `  ${p.id.padEnd(14)} ${paint(color, 36, bar.padEnd(width))} ${String(p.durationSeconds).padStart(7)} s  ${statusText(color, p.status)}${p.note ? ` (${p.note})` : ''}`,
      );
    }
  }
  if (report.mttrSeconds !== null)
    out.push('', paint(color, 1, `MTTR: ${report.mttrSeconds} s`) + ' (rollback start to healthy)');
  if (report.failure)
    out.push(
      '',
      paint(color, 31, `failed in ${report.failure.phase} on ${report.failure.node}:`),
      inertLines(report.failure.message),
      `next: ${report.failure.next}`,
    );
  return out.join('\n') + '\n';
}
