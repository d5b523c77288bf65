import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableCell } from '../github/markdown.js';
import { mermaidGantt, type TimedPhase } from '../lib/gantt.js';
import { renderPlan } from './plan.js';
import type { RollbackReport } from './types.js';

/** What failed, where, and what to do next - the step's error message. */
export function failureMessage(report: RollbackReport): string {
  const f = report.failure;
  const lines = [`${report.cluster}: ${report.verdict}`];
  if (f) lines.push(f.message, `Next: ${f.next}`);
  return lines.join('\n');
}

const ICON = {
  ok: '✅ ok',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
  pass: '✅ pass',
  fail: '❌ fail',
  skip: '⏭️ skip',
} as const;

/** The phases and nodes as Gantt bars: one bar per phase, and one per node where a phase has several. */
export function ganttBars(report: RollbackReport): TimedPhase[] {
  const bars: TimedPhase[] = [];
  for (const p of report.phases) {
    bars.push({ name: p.name, startedAt: p.startedAt, durationSeconds: p.durationSeconds, status: p.status });
    if (p.nodes.length > 1 && p.nodes.length <= 12)
      for (const n of p.nodes)
        bars.push({
          name: `  ${n.node}`,
          startedAt: n.startedAt,
          durationSeconds: n.durationSeconds,
          status: n.status,
        });
  }
  return bars;
}

/** The job summary: verdict, MTTR, phase and node tables, the Gantt chart, the plan (dry run). */
export function summaryMarkdown(report: RollbackReport): string {
  const out: string[] = [
    `## rke2-ops rollback: ${report.cluster}`,
    '',
    `**${report.ok ? '✅' : '❌'} ${report.verdict}**`,
    '',
  ];
  if (report.snapshot)
    out.push(
      `Snapshot \`${report.snapshot.file}\` (sha256 \`${report.snapshot.sha256.slice(0, 16)}…\`, taken ${report.snapshot.createdAt}, resolved from ${report.snapshot.resolvedFrom}, restored from ${report.snapshot.source.kind === 'local' ? 'the local file' : 'S3'}), RKE2 ${report.version ?? '?'}.`,
      '',
    );
  if (report.mttrSeconds !== null)
    out.push(`**MTTR: ${report.mttrSeconds} s** (rollback start to healthy)`, '');
  if (report.failure)
    out.push(
      `**Failed:** ${tableCell(report.failure.phase)} on ${tableCell(report.failure.node)}`,
      '',
      '```',
      report.failure.message,
      '```',
      '',
      `**Next:** ${report.failure.next}`,
      '',
    );
  if (report.resumedFrom)
    out.push(
      `Resumed run ${report.resumedFrom.runId} (completed: ${report.resumedFrom.completed.join(', ') || 'none'}).`,
      '',
    );
  out.push('| Phase | Status | Seconds | Note |', '| --- | --- | --- | --- |');
  for (const p of report.phases)
    out.push(
      `| ${tableCell(p.name)} | ${ICON[p.status]} | ${p.durationSeconds} | ${tableCell(p.note ?? '')} |`,
    );
  out.push('');
  const nodeRows = report.phases.flatMap((p) => p.nodes.map((n) => ({ phase: p.id, ...n })));
  if (nodeRows.length) {
    out.push('| Phase | Node | Status | Seconds | Message |', '| --- | --- | --- | --- | --- |');
    for (const n of nodeRows)
      out.push(
        `| ${n.phase} | ${tableCell(n.node)} | ${ICON[n.status]} | ${n.durationSeconds} | ${tableCell(n.message)}${n.unit ? ` (unit: ${tableCell(n.unit.split('\n')[0] ?? '')})` : ''} |`,
      );
    out.push('');
  }
  const gantt = mermaidGantt(ganttBars(report), `rollback ${report.cluster}`);
  if (gantt.length) out.push(...gantt, '');
  if (report.preflight.checks.length) {
    out.push(
      '<details><summary>Preflight</summary>',
      '',
      '| Check | Node | Status | Message |',
      '| --- | --- | --- | --- |',
    );
    for (const c of report.preflight.checks)
      out.push(
        `| ${tableCell(c.name)} | ${tableCell(c.node ?? '')} | ${ICON[c.status]} | ${tableCell(c.message)} |`,
      );
    out.push('', '</details>', '');
  }
  if (report.plan.length)
    out.push(
      `<details${report.dryRun ? ' open' : ''}><summary>Plan</summary>`,
      '',
      '```',
      renderPlan(report.plan),
      '```',
      '',
      '</details>',
      '',
    );
  return out.join('\n');
}

export async function writeReportFile(
  report: RollbackReport,
  dir = process.env.RUNNER_TEMP || tmpdir(),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(
    dir,
    `rke2-ops-rollback-${report.cluster}-${report.startedAt.replace(/[:.]/g, '-')}.json`,
  );
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
