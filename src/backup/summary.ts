import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAge, type BackupFreshnessReport } from './freshness.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The job summary: the verdict, one row per store, what the RPO was. */
export function summaryMarkdown(r: BackupFreshnessReport): string {
  const icon = (ok: boolean) => (ok ? '✅' : '❌');
  return [
    `## Backup freshness: ${r.cluster}`,
    '',
    `${icon(r.ok)} **${r.ok ? 'Within the RPO' : 'RPO breached'}** - ${cell(r.verdict)}`,
    '',
    '| Check | Status | Newest | Age | Detail |',
    '| --- | --- | --- | --- | --- |',
    ...r.checks.map((c) => {
      const found = c.name === 'velero-backup' ? r.velero : r.etcd;
      const age = found?.ageSeconds === undefined ? '-' : formatAge(found.ageSeconds);
      return `| ${c.name} | ${icon(c.status === 'pass')} ${c.status} | ${found ? `\`${found.name}\`` : '-'} | ${age} | ${cell(c.message)} |`;
    }),
    '',
    ...(r.restoreDrill
      ? [
          `Restore drill: download ${(r.restoreDrill.timings.downloadMs / 1000).toFixed(1)} s, etcd tools ${(r.restoreDrill.timings.toolsMs / 1000).toFixed(1)} s (${r.restoreDrill.etcd ? `${r.restoreDrill.etcd.version}, ${r.restoreDrill.etcd.source}` : 'not installed'}), trial restore ${(r.restoreDrill.timings.restoreMs / 1000).toFixed(1)} s; sha256 of the S3 object ${r.restoreDrill.sha256 ? `\`${r.restoreDrill.sha256}\`` : '-'}.`,
          '',
        ]
      : []),
    `RPO ${formatAge(r.rpoSeconds)}; checked in ${r.durationSeconds.toFixed(3)} s.`,
    '',
  ].join('\n');
}

export async function writeReportFile(
  report: BackupFreshnessReport,
  dir = process.env.RUNNER_TEMP || tmpdir(),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `rke2-ops-backup-freshness-${report.cluster}-${stamp}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
