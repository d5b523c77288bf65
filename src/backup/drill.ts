import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { installEtcdTools, type EtcdTools, type ToolCache } from '../etcd/install.js';
import { COUNTED_PREFIXES } from '../snapshot/facts.js';
import { restoreCheck } from '../snapshot/verify.js';
import type { BackupFreshnessConfig } from './config.js';
import type { EtcdSnapshotFound, FreshnessCheck } from './freshness.js';
import type { ObjectStore } from './objects.js';

/**
 * The restore drill (issue #14, design.md section 6 `backup.yml`): a fresh backup proves
 * nothing until it has been restored. The newest scheduled snapshot is downloaded from S3 to
 * the runner, unzipped when RKE2 compressed it, opened with `etcdutl snapshot status`, restored
 * with `etcdutl snapshot restore` into a temp dir and served by a throwaway etcd on loopback,
 * and the restored data must hold a Kubernetes datastore: keys, at least one Node and the
 * namespaces a cluster cannot lack. The snapshot's own verification (src/snapshot/verify.ts)
 * does the trial restore; nothing touches the cluster.
 *
 * Scheduled snapshots carry no metadata of ours (no sha256 or counts taken at save time), so
 * the drill cannot compare with the live cluster the way the pre-upgrade snapshot's `restore`
 * level does; what it proves is that the newest recovery point restores into a datastore.
 */
export interface RestoreDrillResult {
  snapshot: string;
  key: string;
  size: number;
  sha256: string;
  /** etcd tools used, and where they came from. */
  etcd?: { version: string; source: 'cache' | 'download' };
  revision?: number;
  totalKey?: number;
  storageVersion?: string;
  counts?: { nodes: number; namespaces: number; secrets: number };
  timings: { downloadMs: number; toolsMs: number; restoreMs: number };
}

export interface DrillDeps {
  store: ObjectStore;
  /** Where etcd's tools are installed from the release the config names (the runner's, or the CLI's local one). */
  toolCache: ToolCache;
  logger?: Logger;
  /** Where the snapshot is downloaded and restored ($RUNNER_TEMP in the action). */
  tempDir?: string;
  secrets?: SecretRegistry;
}

/** Namespaces every Kubernetes cluster has: a restore without them is not this cluster's datastore. */
const REQUIRED_NAMESPACES = 4; // default, kube-system, kube-public, kube-node-lease

/** Runs the drill the config asks for (`config.restoreDrill` set) on the snapshot found. */
export async function restoreDrill(
  config: BackupFreshnessConfig & { restoreDrill: NonNullable<BackupFreshnessConfig['restoreDrill']> },
  found: EtcdSnapshotFound,
  deps: DrillDeps,
): Promise<{ check: FreshnessCheck; drill: RestoreDrillResult }> {
  const redact = (s: string) => deps.secrets?.redact(s) ?? s;
  const where = `s3://${config.etcd.bucket}/${found.key}`;
  const drill: RestoreDrillResult = {
    snapshot: found.name,
    key: found.key,
    size: found.size,
    sha256: '',
    timings: { downloadMs: 0, toolsMs: 0, restoreMs: 0 },
  };
  const fail = (message: string) => ({
    check: {
      name: 'etcd-restore-drill' as const,
      status: 'fail' as const,
      message: redact(inertText(message, 800)),
      failing: [where],
    },
    drill,
  });
  // The tools install while the snapshot downloads: they do not depend on each other.
  const toolsStarted = performance.now();
  const tools = installEtcdTools(config.restoreDrill.etcd, {
    toolCache: deps.toolCache,
    logger: deps.logger ?? silentLogger,
  });
  tools.catch(() => undefined);
  const work = await mkdtemp(join(deps.tempDir ?? (process.env.RUNNER_TEMP || tmpdir()), 'rke2ops-drill-'));
  try {
    const file = join(work, found.name);
    let t = performance.now();
    try {
      const got = await deps.store.download(config.etcd.bucket, found.key, file);
      drill.sha256 = got.sha256;
      drill.size = got.size;
    } catch (error) {
      return fail(`restore drill of ${found.name}: cannot download ${where}: ${errorMessage(error)}`);
    } finally {
      drill.timings.downloadMs = Math.round(performance.now() - t);
    }
    let etcd: EtcdTools;
    try {
      etcd = await tools;
      drill.etcd = { version: etcd.version, source: etcd.source };
    } catch (error) {
      return fail(`restore drill of ${found.name}: cannot install etcd's tools: ${errorMessage(error)}`);
    } finally {
      drill.timings.toolsMs = Math.round(performance.now() - toolsStarted);
    }
    t = performance.now();
    const { check, result } = await restoreCheck(file, {
      compressed: found.name.endsWith('.zip'),
      tools: etcd,
      expected: null,
      tempDir: work,
    });
    drill.timings.restoreMs = Math.round(performance.now() - t);
    if (result) {
      const count = (p: string) => result.counts[p] ?? 0;
      drill.revision = result.status.revision;
      drill.totalKey = result.status.totalKey;
      drill.storageVersion = result.status.version;
      drill.counts = {
        nodes: count(COUNTED_PREFIXES.nodes),
        namespaces: count(COUNTED_PREFIXES.namespaces),
        secrets: count(COUNTED_PREFIXES.secrets),
      };
    }
    if (check.status === 'fail')
      return fail(
        `restore drill of ${found.name} failed - this recovery point cannot be restored: ${check.message}; take a snapshot now (rke2-ops snapshot save) and find out what wrote ${where}`,
      );
    const c = drill.counts!;
    const missing = [
      ...(c.nodes < 1 ? ['no Node'] : []),
      ...(c.namespaces < REQUIRED_NAMESPACES
        ? [`${c.namespaces} namespaces (a cluster has at least ${REQUIRED_NAMESPACES})`]
        : []),
    ];
    if (missing.length)
      return fail(
        `restore drill of ${found.name}: it restores, but the data is not a cluster's datastore: ${missing.join(', ')} (${drill.totalKey} keys)`,
      );
    return {
      check: {
        name: 'etcd-restore-drill',
        status: 'pass',
        message: `restore drill of ${found.name} passed: ${(drill.size / 1048576).toFixed(1)} MiB downloaded, restored with etcdutl ${etcd.version} - revision ${drill.revision}, ${drill.totalKey} keys, ${c.nodes} nodes, ${c.namespaces} namespaces, ${c.secrets} secrets`,
      },
      drill,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
