import { sh } from '../lib/quote.js';
import { inertText } from '../lib/inert.js';
import { errorMessage } from '../lib/errors.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { RemoteShell } from '../ssh/types.js';
import { runBatch } from '../rke2/batch.js';
import { digestByPrefix, etcdSnapshotLs, etcdSnapshotSave, kubectl } from '../rke2/commands.js';
import { fileMatchesBase, parseSnapshotFile } from '../rke2/names.js';
import { parseDigests, parseSnapshotList, savedFiles, type SnapshotListEntry } from '../rke2/parse.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { ObjectCounts } from './metadata.js';
import { countObjectsStep, parseCounts } from './facts.js';
import { fail } from './run-state.js';

/**
 * The save, ONE exec on the master: refuse if a file of this name already exists, `rke2
 * etcd-snapshot save --name <base>`, then concurrently `etcd-snapshot ls -o json` (where the REAL
 * file name comes from, rke2-facts.md §1.1), size and sha256 of `<snapshot dir>/<base>-*`
 * computed on the node, and the object counts right after the save.
 *
 * RKE2 proves little here: `save` exits 0 and prints `saved` when the S3 upload failed, and
 * exits 0 printing nothing when the local snapshot failed (ENOSPC) - so the outcome is judged
 * by the file on disk and, later, the object in S3.
 */
export interface SavedSnapshot {
  file: string;
  localPath: string;
  size: number;
  sha256: string;
  /** `Snapshot <file> saved.` lines RKE2 printed (one per location that worked). */
  savedLines: string[];
  /** `etcd-snapshot ls` entries for this file (null when ls failed). */
  listed: SnapshotListEntry[] | null;
  /** Everything `ls` listed (retention works from it); null when ls failed. */
  all: SnapshotListEntry[] | null;
  lsError?: string;
  countsAfter: ObjectCounts | null;
  warnings: string[];
}

export async function saveOnMaster(
  shell: RemoteShell,
  opts: { paths: Rke2Paths; baseName: string; timeoutMs: number; secrets?: SecretRegistry },
): Promise<SavedSnapshot> {
  const node = shell.target.name;
  const { paths, baseName } = opts;
  const r = await runBatch(
    shell,
    [
      {
        key: 'free',
        command: sh`for f in ${paths.snapshotDir}/${baseName}-*; do if [ -e "$f" ]; then echo "exists: $f" >&2; exit 1; fi; done`,
        stopOnFailure: true,
      },
      { key: 'save', command: etcdSnapshotSave(baseName), stopOnFailure: true },
      // Three independent reads of what the save left: together, not one after the other.
      { key: 'ls', command: etcdSnapshotLs(), parallel: true },
      { key: 'digest', command: digestByPrefix(paths.snapshotDir, `${baseName}-`), parallel: true },
      { ...countObjectsStep(paths, 'after'), parallel: true },
    ],
    { timeoutMs: opts.timeoutMs, ...(opts.secrets ? { secrets: opts.secrets } : {}) },
  ).catch((error: unknown) =>
    fail(
      'save',
      node,
      `rke2 etcd-snapshot save on ${node} did not finish: ${errorMessage(error)}`,
      'check `journalctl -u rke2-server` on the master; a hung S3 upload ends after etcd-s3-timeout',
    ),
  );
  if (r.free!.code !== 0)
    fail(
      'save',
      node,
      `a snapshot named ${baseName} already exists: ${inertText(r.free!.stderr.trim())}`,
      'run again (each run picks a new name)',
    );
  const save = r.save!;
  if (save.code !== 0)
    fail(
      'save',
      node,
      `rke2 etcd-snapshot save failed on ${node} (exit ${save.code}): ${inertText(save.stderr.trim().split('\n').slice(-3).join(' | ') || 'no output', 800)}`,
      'read `journalctl -u rke2-server` on the master (the server logs the reason), fix it, run again',
    );
  const warnings: string[] = [];
  const savedLines = savedFiles(save.stderr).filter((f) => fileMatchesBase(f, baseName));
  let all: SnapshotListEntry[] | null = null;
  let lsError: string | undefined;
  if (r.ls!.code === 0) {
    try {
      all = parseSnapshotList(r.ls!.stdout);
    } catch (error) {
      lsError = errorMessage(error);
    }
  } else
    lsError = inertText(r.ls!.stderr.trim().split('\n').slice(-2).join(' | ') || `exit ${r.ls!.code}`, 500);
  if (lsError)
    warnings.push(
      `rke2 etcd-snapshot ls failed after the save (${lsError}): the file name is taken from the disk`,
    );
  const listed = all?.filter((e) => fileMatchesBase(e.file, baseName)) ?? null;
  const digests = parseDigests(r.digest!.stdout).found.filter((d) => parseSnapshotFile(d.name));
  // The real name: ls's local entry (rke2-facts §1.1), cross-checked with the file on disk.
  const fromLs = listed?.find((e) => e.storage === 'local');
  const onDisk = digests.length === 1 ? digests[0]! : null;
  if (digests.length > 1)
    fail(
      'save',
      node,
      `more than one file for ${baseName}: ${digests.map((d) => d.name).join(', ')}`,
      'report this: a save name is used once',
    );
  if (!onDisk)
    fail(
      'save',
      node,
      `RKE2 said ${savedLines.length ? `"Snapshot ${savedLines[0]} saved."` : 'nothing (no "saved" line)'} and exited 0, but no file ${baseName}-* exists in ${paths.snapshotDir}`,
      `read \`journalctl -u rke2-server\` on ${node} (a full disk or an unwritable snapshot dir ends like this); free space, run again`,
    );
  if (fromLs && fromLs.file !== onDisk.name)
    fail(
      'save',
      node,
      `etcd-snapshot ls names ${fromLs.file} but the file on disk is ${onDisk.name}`,
      'check etcd-snapshot-dir (give snapshot-dir if it is customised)',
    );
  if (all && !fromLs) warnings.push(`etcd-snapshot ls does not list the local file ${onDisk.name}`);
  return {
    file: onDisk.name,
    localPath: `${paths.snapshotDir}/${onDisk.name}`,
    size: onDisk.size,
    sha256: onDisk.sha256,
    savedLines,
    listed,
    all,
    ...(lsError ? { lsError } : {}),
    countsAfter: r.after!.code === 0 ? parseCounts(r.after!.stdout) : null,
    warnings,
  };
}

/**
 * RKE2's own record of what went wrong (ETCDSnapshotFile objects with readyToUse=false and
 * status.error, rke2-facts.md §1.7): the S3 upload error behind a "saved" that did not reach S3,
 * the ENOSPC behind a save that wrote nothing. Diagnostics only: never throws.
 */
export async function rke2Records(
  shell: RemoteShell,
  paths: Rke2Paths,
  baseName: string,
  secrets?: SecretRegistry,
): Promise<SnapshotListEntry[]> {
  try {
    const r = await runBatch(
      shell,
      [{ key: 'esf', command: kubectl(paths, sh`get etcdsnapshotfiles -o json`) }],
      {
        timeoutMs: 30_000,
        ...(secrets ? { secrets } : {}),
      },
    );
    if (r.esf!.code !== 0) return [];
    return parseSnapshotList(r.esf!.stdout, 'etcdsnapshotfiles').filter((e) =>
      fileMatchesBase(e.file, baseName),
    );
  } catch {
    return [];
  }
}

/** "RKE2 recorded: <error>" for the failed records of a storage kind, or ''. */
export function recordedErrors(records: SnapshotListEntry[], storage: 'local' | 's3'): string {
  const errors = [...new Set(records.filter((e) => e.storage === storage && e.error).map((e) => e.error!))];
  return errors.length ? ` RKE2 recorded: ${errors.map((e) => inertText(e, 500)).join('; ')}` : '';
}
