import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnapshotReport } from './types.js';

/** Writes the report where later steps (incident, artifact upload) can pick it up. */
export async function writeReportFile(
  report: SnapshotReport,
  dir = process.env.RUNNER_TEMP || tmpdir(),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const path = join(dir, `rke2-ops-snapshot-${report.mode}-${report.cluster}-${stamp}.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
