/**
 * Velero's Backup phases (rke2-facts.md §5.2; velero pkg/apis/velero/v1/backup_types.go). Only
 * these four end a backup; any other phase - including ones a newer Velero adds (Queued,
 * ReadyToStart in 1.18) - means "still running".
 */
export const TERMINAL_BACKUP_PHASES = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'] as const;
export type TerminalBackupPhase = (typeof TERMINAL_BACKUP_PHASES)[number];

export function isTerminalPhase(phase: string | undefined): phase is TerminalBackupPhase {
  return (TERMINAL_BACKUP_PHASES as readonly string[]).includes(phase ?? '');
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** What a run learned about one Velero backup. */
export interface VeleroBackupResult {
  name: string;
  namespace: string;
  schedule: string;
  storageLocation: string;
  /** Last phase seen ('' if the object never got one). */
  phase: string;
  /** Every phase seen while polling, in order (proves the wait went through Finalizing). */
  phasesSeen: string[];
  errors: number;
  warnings: number;
  failureReason?: string;
  validationErrors: string[];
  /** PodVolumeBackups that did not complete: `<namespace>/<pod> volume <v>: <message>`. */
  failedVolumes: string[];
  startedAt?: string;
  completedAt?: string;
  /** True when the wait ended because the time ran out. */
  timedOut: boolean;
  durationSeconds: number;
}
