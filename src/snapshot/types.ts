import type { VeleroBackupResult } from '../velero/types.js';
import type { SnapshotMode, VerifyLevel } from './config.js';
import type { ObjectCounts, SnapshotMetadata } from './metadata.js';
import type { CatalogEntry } from './catalog.js';
import type { SnapshotStatus } from '../etcd/trial-restore.js';

/** Where a check belongs: the preflight, a verification level, Velero, or storing the metadata. */
export type CheckLevel = 'preflight' | 'save' | VerifyLevel | 'velero' | 'metadata';

export interface SnapshotCheck {
  name: string;
  level: CheckLevel;
  status: 'pass' | 'fail' | 'skip';
  message: string;
  /** The node the check ran on (or about). */
  node?: string;
  durationMs?: number;
  observed?: Record<string, unknown>;
}

export interface PhaseRecord {
  name: string;
  /** Epoch ms. */
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
}

/** The one clear error of a failed run: what, where, what to do next. */
export interface SnapshotFailure {
  phase: string;
  node: string;
  message: string;
  next: string;
}

export interface SnapshotFacts {
  /** `rke2 --version` of the master. */
  serverVersion: string | null;
  /** Node -> kubeletVersion (the RKE2 version it runs). */
  nodeVersions: Record<string, string>;
  tokenSha256: string;
  counts: ObjectCounts;
  etcdImage: string | null;
  /** What the master's `server/last-pre-upgrade-snapshot` said before this run. */
  previousMarker: string | null;
}

export interface SnapshotReport {
  kind: 'snapshot';
  mode: SnapshotMode;
  cluster: string;
  /** The master that saved / holds the snapshot. */
  master: string;
  level: VerifyLevel;
  /** True only when every check up to the level (and Velero, when on) passed and the metadata is stored. */
  verified: boolean;
  verdict: string;
  failure?: SnapshotFailure;
  snapshot?: {
    file: string;
    name: string;
    size: number;
    sha256: string;
    createdAt: string;
    compressed: boolean;
    localPath: string;
    s3Key: string | null;
  };
  facts?: SnapshotFacts;
  metadata?: SnapshotMetadata;
  /** Where the metadata was written: `written`, `skipped (<why>)` or the error. */
  metadataStored?: { local: string; s3: string };
  /** Whether server/last-pre-upgrade-snapshot now names this snapshot. */
  marked?: boolean;
  checks: SnapshotCheck[];
  phases: PhaseRecord[];
  velero?: VeleroBackupResult;
  /** `etcdutl snapshot status` of the S3 copy (restore level). */
  restore?: SnapshotStatus | null;
  retention?: { keep: number; kept: string[]; deleted: string[]; error?: string };
  /** list mode: every snapshot found, newest first. */
  listing?: CatalogEntry[];
  /** list/verify mode: the snapshot `latest-pre-upgrade` resolves to. */
  latestPreUpgrade?: string | null;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** Milliseconds from process start to the start of the run (node start, bundle load, config). */
  startupMs: number;
}
