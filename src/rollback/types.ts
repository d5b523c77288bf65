import type { Check } from '../health/types.js';
import type { SshAccessResult } from '../ssh/access.js';
import type { SnapshotMetadata } from '../snapshot/metadata.js';
import type { PlannedPhase } from './plan.js';

/** The phases of a rollback, in order (design.md §5). */
export const PHASE_IDS = [
  'stop',
  'install',
  'reset',
  'start-master',
  'join-peers',
  'start-workers',
  'velero',
  'health',
] as const;
export type PhaseId = (typeof PHASE_IDS)[number];

export type NodeRole = 'master' | 'worker';

/** What one node did in one phase. */
export interface NodeResult {
  node: string;
  /** Epoch ms. */
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
  message: string;
  /** A stuck node: its unit state and journal tail. */
  unit?: string;
  logTail?: string;
}

export interface PhaseResult {
  id: PhaseId;
  name: string;
  /** Epoch ms. */
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
  /** Why it was skipped (resumed, not needed, not asked for). */
  note?: string;
  nodes: NodeResult[];
}

/** The one clear error of a failed run: what, where, what to do next. */
export interface RollbackFailure {
  phase: string;
  node: string;
  message: string;
  next: string;
}

export interface PreflightNode {
  node: string;
  role: NodeRole;
  reachable: boolean;
  /** `rke2 --version` now. */
  version: string | null;
  /** The version it must run after the rollback. */
  target: string;
  reinstall: boolean;
  tokenMatches?: boolean;
  skipped?: boolean;
  message: string;
}

export interface PreflightCheck {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  message: string;
  node?: string;
}

/** Where master-0 restores from. */
export type RestoreSource =
  { kind: 'local'; path: string } | { kind: 's3'; file: string; key: string; movedAsideLocal: boolean };

export interface RollbackReport {
  kind: 'rollback';
  cluster: string;
  dryRun: boolean;
  /** True when every phase passed (the health check included). */
  ok: boolean;
  verdict: string;
  failure?: RollbackFailure;
  snapshot?: {
    file: string;
    sha256: string;
    size: number;
    resolvedFrom: string;
    source: RestoreSource;
    createdAt: string;
  };
  /** The RKE2 version every node runs after the rollback (from the snapshot's metadata). */
  version?: string;
  metadata?: SnapshotMetadata | null;
  ssh: SshAccessResult[];
  preflight: { checks: PreflightCheck[]; nodes: PreflightNode[] };
  plan: PlannedPhase[];
  phases: PhaseResult[];
  /** Resumed after the phases of an earlier, interrupted run. */
  resumedFrom?: { runId: string; completed: PhaseId[] };
  runId: string;
  health?: { healthy: boolean; verdict: string; checks: Check[]; timeToHealthySeconds: number | null };
  velero?: { restore: string; phase: string; podVolumeRestores: { name: string; phase: string }[] };
  /** Seconds from the (first) run's start until the health check passed; null when it did not. */
  mttrSeconds: number | null;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  startupMs: number;
}
