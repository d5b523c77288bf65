import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { extractSingleFile } from '../lib/zip.js';
import { S3Error } from '../s3/errors.js';
import type { SnapshotStore } from '../s3/client.js';
import { trialRestore, type TrialRestoreResult } from '../etcd/trial-restore.js';
import type { EtcdTools } from '../etcd/install.js';
import type { ObjectCounts } from './metadata.js';
import { COUNTED_PREFIXES } from './facts.js';
import type { SnapshotCheck } from './types.js';

/**
 * The verification levels, each a function returning checks (never throwing for a verdict):
 *  - local:   the file on the master - size and sha256 computed there (by the save or a digest);
 *  - s3:      the object `<folder>/<file>` - same size (HEAD) and same sha256 (streamed GET);
 *  - restore: the S3 copy on the runner - unzipped when compressed, `etcdutl snapshot status`,
 *             a trial `etcdutl snapshot restore`, and the restored nodes / namespaces / secrets
 *             counted and compared with the live cluster's at save time.
 * Rollback and the backup-freshness workflow call these on an existing snapshot too.
 */
export interface Expected {
  size: number;
  sha256: string;
}

export function localCheck(
  node: string,
  path: string,
  found: { size: number; sha256: string } | null,
  expected: Expected | null,
  extra: { listedSize?: number | undefined } = {},
): SnapshotCheck {
  if (!found)
    return {
      name: 'local-file',
      level: 'local',
      status: 'fail',
      node,
      message: `${path} does not exist on ${node}`,
    };
  const problems: string[] = [];
  if (expected && found.size !== expected.size)
    problems.push(`size ${found.size} bytes, expected ${expected.size}`);
  if (expected && found.sha256 !== expected.sha256)
    problems.push(`sha256 ${found.sha256}, expected ${expected.sha256}`);
  if (extra.listedSize !== undefined && extra.listedSize !== found.size)
    problems.push(`etcd-snapshot ls says ${extra.listedSize} bytes, the file has ${found.size}`);
  if (found.size === 0) problems.push('the file is empty');
  return {
    name: 'local-file',
    level: 'local',
    status: problems.length ? 'fail' : 'pass',
    node,
    message: problems.length
      ? `${path} on ${node}: ${problems.join('; ')}`
      : `${path} on ${node}: ${found.size} bytes, sha256 ${found.sha256.slice(0, 12)}…`,
    observed: { path, size: found.size, sha256: found.sha256 },
  };
}

export interface S3CheckResult {
  checks: SnapshotCheck[];
  /** The downloaded copy (only when `downloadTo` was given and the object matched). */
  downloaded?: string;
}

/** HEAD then a streamed GET of `key`: size and sha256 must equal the expected (local) ones. */
export async function s3Check(
  bucket: SnapshotStore,
  key: string,
  expected: Expected,
  opts: { downloadTo?: string; signal?: AbortSignal; hint?: () => Promise<string> } = {},
): Promise<S3CheckResult> {
  const where = `s3://${bucket.settings.bucket}/${key}`;
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const failWith = async (
    name: string,
    message: string,
    observed?: Record<string, unknown>,
  ): Promise<S3CheckResult> => ({
    checks: [
      {
        name,
        level: 's3',
        status: 'fail',
        message: `${message}${opts.hint ? await opts.hint() : ''}`,
        durationMs: ms(),
        ...(observed ? { observed } : {}),
      },
    ],
  });
  let size: number;
  try {
    size = (await bucket.head(key, opts.signal)).size;
  } catch (error) {
    if (error instanceof S3Error && error.kind === 'not-found')
      return failWith(
        's3-object',
        `${where} does not exist (RKE2 printed "saved" does not mean it uploaded)`,
      );
    return failWith('s3-object', errorMessage(error));
  }
  if (size !== expected.size)
    return failWith('s3-object', `${where} is ${size} bytes, the local file ${expected.size}`, { size });
  const sized: SnapshotCheck = {
    name: 's3-object',
    level: 's3',
    status: 'pass',
    message: `${where}: ${size} bytes, same as the local file`,
    durationMs: ms(),
    observed: { key, size },
  };
  const t = performance.now();
  try {
    const got = await bucket.download(key, opts.downloadTo, opts.signal);
    const check: SnapshotCheck = {
      name: 's3-sha256',
      level: 's3',
      status: got.sha256 === expected.sha256 && got.size === expected.size ? 'pass' : 'fail',
      message:
        got.sha256 === expected.sha256 && got.size === expected.size
          ? `${where}: sha256 ${got.sha256.slice(0, 12)}… equals the local file's`
          : `${where}: sha256 ${got.sha256} (${got.size} bytes) differs from the local file's ${expected.sha256} - the S3 copy is not the snapshot`,
      durationMs: Math.round(performance.now() - t),
      observed: { sha256: got.sha256, size: got.size },
    };
    return {
      checks: [sized, check],
      ...(check.status === 'pass' && got.path ? { downloaded: got.path } : {}),
    };
  } catch (error) {
    return {
      checks: [
        sized,
        {
          name: 's3-sha256',
          level: 's3',
          status: 'fail',
          message: `download failed: ${errorMessage(error)}`,
          durationMs: Math.round(performance.now() - t),
        },
      ],
    };
  }
}

export interface CountRange {
  before: ObjectCounts;
  after: ObjectCounts | null;
}

/** Restored counts must lie between the live counts right before and right after the save. */
export function compareCounts(restored: Record<string, number>, expected: CountRange): string[] {
  const problems: string[] = [];
  for (const kind of Object.keys(COUNTED_PREFIXES) as (keyof ObjectCounts)[]) {
    const got = restored[COUNTED_PREFIXES[kind]] ?? 0;
    const a = expected.before[kind];
    const b = expected.after?.[kind] ?? a;
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    if (got < lo || got > hi)
      problems.push(`${kind}: ${got} restored, the cluster had ${lo === hi ? lo : `${lo}-${hi}`}`);
  }
  return problems;
}

/** The trial restore of a downloaded snapshot file (unzipped first when compressed). */
export async function restoreCheck(
  file: string,
  opts: {
    compressed: boolean;
    tools: EtcdTools;
    expected: CountRange | null;
    tempDir: string;
    signal?: AbortSignal;
    timeoutMs?: number;
  },
): Promise<{ check: SnapshotCheck; result?: TrialRestoreResult }> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const work = await mkdtemp(join(opts.tempDir, 'rke2ops-verify-'));
  try {
    let db = file;
    if (opts.compressed) {
      db = join(work, 'snapshot.db');
      try {
        await extractSingleFile(file, db);
      } catch (error) {
        return {
          check: {
            name: 'restore',
            level: 'restore',
            status: 'fail',
            message: `unzip failed: ${errorMessage(error)}`,
            durationMs: ms(),
          },
        };
      }
    }
    let result: TrialRestoreResult;
    try {
      result = await trialRestore(db, opts.tools, {
        prefixes: Object.values(COUNTED_PREFIXES),
        workDir: work,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      });
    } catch (error) {
      return {
        check: {
          name: 'restore',
          level: 'restore',
          status: 'fail',
          message: errorMessage(error),
          durationMs: ms(),
        },
      };
    }
    const counts = Object.fromEntries(
      (Object.keys(COUNTED_PREFIXES) as (keyof ObjectCounts)[]).map((k) => [
        k,
        result.counts[COUNTED_PREFIXES[k]] ?? 0,
      ]),
    );
    const problems = opts.expected ? compareCounts(result.counts, opts.expected) : [];
    if (result.status.totalKey === 0) problems.push('the restored database holds no keys');
    const summary = `revision ${result.status.revision}, ${result.status.totalKey} keys, storage version ${result.status.version}; restored nodes ${counts['nodes']}, namespaces ${counts['namespaces']}, secrets ${counts['secrets']}`;
    return {
      check: {
        name: 'restore',
        level: 'restore',
        status: problems.length ? 'fail' : 'pass',
        message: problems.length
          ? `trial restore differs from the cluster at save time: ${problems.join('; ')} (${summary})`
          : `etcdutl snapshot status and a trial restore passed: ${summary}${opts.expected ? ', as in the cluster at save time' : ''}`,
        durationMs: ms(),
        observed: { status: result.status, counts, timings: result.timings },
      },
      result,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
