import { parseOwnSnapshotFile } from '../rke2/names.js';

/**
 * Retention of THIS prefix only (RKE2's own retention is per name prefix too, rke2-facts.md
 * §1.6, §1.8): among the files saved by this toolkit with `prefix` - the strict
 * `<prefix>-<stamp>-<nonce>-<node>-<ts>` pattern, so scheduled snapshots and other prefixes
 * never match - keep the current one and the `keep - 1` newest older ones. A snapshot newer than
 * the current one (a concurrent run's) is never touched. `keep` 0 keeps everything.
 */
export function selectForDeletion(
  files: Iterable<string>,
  current: string,
  prefix: string,
  keep: number,
): { kept: string[]; deleted: string[] } {
  const cur = parseOwnSnapshotFile(current, prefix);
  const own = [...new Set(files)]
    .filter((f) => f !== current)
    .map((f) => parseOwnSnapshotFile(f, prefix))
    .filter((p): p is NonNullable<typeof p> => p !== null);
  if (keep <= 0 || !cur) return { kept: own.map((p) => p.file), deleted: [] };
  const older = own
    .filter((p) => p.unixTs < cur.unixTs || (p.unixTs === cur.unixTs && p.file < current))
    .sort((a, b) => b.unixTs - a.unixTs || (a.file < b.file ? 1 : -1));
  const newer = own.filter((p) => !older.includes(p));
  const deleted = older.slice(Math.max(0, keep - 1)).map((p) => p.file);
  return { kept: [...newer, ...older.slice(0, Math.max(0, keep - 1))].map((p) => p.file), deleted };
}
