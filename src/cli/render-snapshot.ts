import type { SnapshotReport } from '../snapshot/types.js';
import { inertText } from '../lib/inert.js';
import type { RenderOptions } from './render-health.js';

const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

function size(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * A snapshot report for a person at a terminal: a verdict line, one row per check, Velero,
 * retention and the phase timings; for `list` a table with the rollback target starred. Colour
 * only when asked for; every value inert (this text may land in a workflow log).
 */
export function renderSnapshot(report: SnapshotReport, opts: RenderOptions): string {
  const paint = (code: keyof typeof codes, text: string) =>
    opts.color ? `\u001b[${codes[code]}m${text}\u001b[0m` : text;
  const width = opts.width ?? 120;
  const lines: string[] = [];
  if (report.mode === 'list') {
    const rows = (report.listing ?? []).map((e) => [
      e.latestPreUpgrade ? '*' : ' ',
      e.file,
      e.createdAt.replace(/\.\d+Z$/, 'Z'),
      e.metadata ? `${e.origin}/${e.metadata.kind}` : e.origin,
      e.locations.map((l) => (l.storage === 's3' ? 'S3' : l.node)).join(','),
      e.verified === null ? '-' : e.verified ? `yes (${e.verifiedLevel})` : 'NO',
    ]);
    const head = [' ', 'SNAPSHOT', 'CREATED', 'ORIGIN', 'WHERE', 'VERIFIED'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    lines.push(`${inertText(report.cluster)}: ${report.listing?.length ?? 0} snapshot(s)`);
    lines.push(
      paint(
        'dim',
        head
          .map((h, i) => h.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      ),
    );
    for (const r of rows) {
      const text = inertText(
        r
          .map((c, i) => c.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
        2000,
      );
      lines.push(r[0] === '*' ? paint('bold', text) : text);
    }
    lines.push(
      report.latestPreUpgrade
        ? `* latest-pre-upgrade (the rollback target): ${inertText(report.latestPreUpgrade)}`
        : paint('yellow', 'no verified pre-upgrade snapshot: latest-pre-upgrade resolves to nothing'),
    );
  } else {
    const s = report.snapshot;
    const verdict = report.verified
      ? paint('green', paint('bold', `VERIFIED (${report.level})`))
      : paint('red', paint('bold', 'NOT VERIFIED'));
    lines.push(
      `${inertText(report.cluster)}: ${verdict}${s ? ` ${inertText(s.file)}  ${size(s.size)}  sha256 ${s.sha256.slice(0, 16)}…` : ''}`,
    );
    const nameWidth = Math.max(5, ...report.checks.map((c) => c.name.length));
    for (const c of report.checks) {
      const status =
        c.status === 'pass'
          ? paint('green', 'pass')
          : c.status === 'fail'
            ? paint('red', 'FAIL')
            : paint('dim', 'skip');
      const detail = inertText(c.message, 2000);
      const room = width - nameWidth - 9;
      lines.push(
        `  ${status}  ${c.name.padEnd(nameWidth)}  ${c.status === 'fail' || detail.length <= room ? detail : `${detail.slice(0, Math.max(10, room - 3))}...`}`,
      );
    }
    if (s?.s3Key) lines.push(`  S3: ${inertText(s.s3Key)}`);
    if (report.velero)
      lines.push(
        `  Velero: ${inertText(`${report.velero.namespace}/${report.velero.name}`)} ${report.velero.phase || 'not run'}`,
      );
    if (report.marked)
      lines.push(
        `  marked as the rollback target (server/last-pre-upgrade-snapshot on ${inertText(report.master)})`,
      );
    if (report.retention)
      lines.push(
        `  retention (keep ${report.retention.keep}): deleted ${report.retention.deleted.length ? report.retention.deleted.map((f) => inertText(f)).join(', ') : 'nothing'}`,
      );
    if (report.failure) {
      lines.push(
        paint(
          'red',
          `Failed in ${report.failure.phase} on ${inertText(report.failure.node)}: ${inertText(report.failure.message, 2000)}`,
        ),
      );
      lines.push(paint('dim', `Next: ${inertText(report.failure.next, 2000)} (nothing was deleted)`));
    }
  }
  for (const w of report.warnings) lines.push(paint('yellow', `warning: ${inertText(w, 2000)}`));
  lines.push(
    paint(
      'dim',
      `${report.phases
        .filter((p) => p.status !== 'skipped')
        .map((p) => `${p.name} ${p.durationSeconds.toFixed(1)}s`)
        .join(', ')}; total ${report.durationSeconds} s`,
    ),
  );
  return lines.join('\n') + '\n';
}
