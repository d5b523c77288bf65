import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { inertText } from '../lib/inert.js';
import { errorMessage } from '../lib/errors.js';
import { runBatch } from '../rke2/batch.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { RemoteShell } from '../ssh/types.js';
import {
  backupFromSchedule,
  checkStorageLocation,
  createObject,
  failedVolumes,
  getBackup,
  getPodVolumeBackups,
  readBackupStatus,
} from './backup.js';
import { isTerminalPhase, type KubeObject, type VeleroBackupResult } from './types.js';

export interface VeleroBackupRequest {
  namespace: string;
  /** The Schedule object (read in the caller's preflight). */
  schedule: KubeObject;
  /** Every BackupStorageLocation in the namespace (idem). */
  locations: KubeObject[];
  /** Backup name (DNS-1123). */
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Epoch ms: stop waiting then (the backup keeps running in the cluster). */
  deadline: number;
  pollIntervalMs?: number;
}

export interface VeleroDeps {
  shell: RemoteShell;
  paths: Rke2Paths;
  clock: Clock;
  logger: Logger;
  secrets?: SecretRegistry;
}

/**
 * Backs up with Velero from its schedule's template: checks the BackupStorageLocation is
 * `Available`, creates the Backup, polls its phase until one of Completed, PartiallyFailed,
 * Failed, FailedValidation (through InProgress and Finalizing*) or the deadline, and collects
 * what went wrong (failure reason, validation errors, PodVolumeBackups that did not complete).
 * Never throws for a Velero outcome: the result says what happened; `veleroVerdict` judges it.
 */
export async function runVeleroBackup(
  req: VeleroBackupRequest,
  deps: VeleroDeps,
): Promise<VeleroBackupResult> {
  const started = deps.clock.now();
  const location = checkStorageLocation(req.schedule, req.locations);
  const base: VeleroBackupResult = {
    name: req.name,
    namespace: req.namespace,
    schedule: req.schedule.metadata.name,
    storageLocation: location.name ?? '',
    phase: '',
    phasesSeen: [],
    errors: 0,
    warnings: 0,
    validationErrors: [],
    failedVolumes: [],
    timedOut: false,
    durationSeconds: 0,
  };
  const done = (r: Partial<VeleroBackupResult>): VeleroBackupResult => ({
    ...base,
    ...r,
    durationSeconds: Math.round(deps.clock.now() - started) / 1000,
  });
  if (!location.ok) return done({ failureReason: `not started: ${location.message}` });

  const manifest = backupFromSchedule(req.schedule, req.name, {
    ...(req.labels ? { labels: req.labels } : {}),
    ...(req.annotations ? { annotations: req.annotations } : {}),
  });
  const opts = { ...(deps.secrets ? { secrets: deps.secrets } : {}), timeoutMs: 60_000 };
  const created = await runBatch(
    deps.shell,
    [{ key: 'create', command: createObject(deps.paths, manifest) }],
    opts,
  );
  if (created.create!.code !== 0)
    return done({
      failureReason: `kubectl create of Backup ${req.name} failed: ${inertText(created.create!.stderr.trim(), 500)}`,
    });
  deps.logger.info(`velero: Backup ${req.namespace}/${req.name} created from schedule ${base.schedule}`);

  const seen: string[] = [];
  let last: KubeObject | null = null;
  const interval = req.pollIntervalMs ?? 2000;
  for (;;) {
    const r = await runBatch(
      deps.shell,
      [{ key: 'backup', command: getBackup(deps.paths, req.namespace, req.name) }],
      opts,
    ).catch((error: unknown) => ({
      backup: { code: 1, stdout: '', stderr: errorMessage(error), ran: true, key: 'backup' },
    }));
    const part = r.backup!;
    if (part.code === 0) {
      try {
        last = JSON.parse(part.stdout) as KubeObject;
      } catch {
        /* a torn answer: ask again */
      }
      const phase = String(last?.status?.['phase'] ?? '');
      if (phase && seen.at(-1) !== phase) {
        seen.push(phase);
        deps.logger.info(`velero: Backup ${req.name} is ${phase}`);
      }
      if (isTerminalPhase(phase)) break;
    } else deps.logger.warning(`velero: reading Backup ${req.name}: ${inertText(part.stderr.trim(), 300)}`);
    const left = req.deadline - deps.clock.now();
    if (left <= 0) break;
    await deps.clock.sleep(Math.min(interval, left));
  }
  const status = last ? readBackupStatus(last) : { phase: '', errors: 0, warnings: 0, validationErrors: [] };
  let volumes: string[] = [];
  if (status.phase && status.phase !== 'Completed') {
    const pv = await runBatch(
      deps.shell,
      [{ key: 'pvb', command: getPodVolumeBackups(deps.paths, req.namespace, req.name) }],
      opts,
    ).catch(() => null);
    if (pv?.pvb?.code === 0) {
      try {
        volumes = failedVolumes(JSON.parse(pv.pvb.stdout) as { items?: KubeObject[] });
      } catch {
        /* diagnostics only */
      }
    }
  }
  return done({
    ...status,
    phasesSeen: seen,
    failedVolumes: volumes,
    timedOut: !isTerminalPhase(status.phase),
  });
}

/** The gate: Completed passes; PartiallyFailed only when allowed; anything else fails, with why. */
export function veleroVerdict(
  r: VeleroBackupResult,
  allowPartiallyFailed = false,
): { ok: boolean; message: string } {
  const what = `Velero backup ${r.namespace}/${r.name} (schedule ${r.schedule}, location ${r.storageLocation || '?'})`;
  if (r.phase === 'Completed')
    return { ok: true, message: `${what} Completed (phases ${r.phasesSeen.join(' -> ')})` };
  const details = [
    ...(r.failureReason ? [r.failureReason] : []),
    ...r.validationErrors,
    ...(r.errors ? [`${r.errors} error(s), ${r.warnings} warning(s)`] : []),
    ...r.failedVolumes,
  ];
  const tail = details.length ? `: ${details.join('; ')}` : '';
  if (r.phase === 'PartiallyFailed' && allowPartiallyFailed)
    return { ok: true, message: `${what} PartiallyFailed (allowed by velero-allow-partially-failed)${tail}` };
  if (r.timedOut && r.phase)
    return {
      ok: false,
      message: `${what} still ${r.phase} when the time ran out after ${r.durationSeconds} s${tail}`,
    };
  if (!r.phase) return { ok: false, message: `${what} did not run${tail}` };
  return { ok: false, message: `${what} ended ${r.phase}${tail}` };
}
