import { sh, type ShellFragment } from '../lib/quote.js';
import { assertIdentifier } from '../lib/identifiers.js';
import { kubectl } from '../rke2/commands.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { KubeObject, VeleroBackupResult } from './types.js';

/**
 * Velero without the velero CLI (rke2-facts.md §5.1): a Schedule is a `velero.io/v1 Schedule`
 * object, not a CronJob, so an on-demand backup "from the schedule" is a `Backup` whose spec is
 * the schedule's `.spec.template`, labelled as `velero backup create --from-schedule` labels it
 * (the template's labels, else the schedule's, plus `velero.io/schedule-name`; the schedule's
 * annotations; an owner reference when `useOwnerReferencesInBackup`). Created with kubectl on a
 * master; its phase is then polled (kubectl wait cannot fail fast on Failed/PartiallyFailed).
 */

export const SCHEDULE_NAME_LABEL = 'velero.io/schedule-name';
export const SNAPSHOT_LABEL = 'rke2-ops.io/etcd-snapshot';

export function backupFromSchedule(
  schedule: KubeObject,
  name: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KubeObject & { spec: Record<string, unknown> } {
  assertIdentifier('objectName', 'velero backup name', name);
  const template = (schedule.spec?.['template'] ?? {}) as Record<string, unknown>;
  const templateLabels = (template['metadata'] as { labels?: Record<string, string> } | undefined)?.labels;
  const labels = {
    ...(templateLabels ?? schedule.metadata.labels ?? {}),
    [SCHEDULE_NAME_LABEL]: schedule.metadata.name,
    ...extra.labels,
  };
  const annotations = { ...(schedule.metadata.annotations ?? {}), ...extra.annotations };
  const owner =
    schedule.spec?.['useOwnerReferencesInBackup'] === true && schedule.metadata.uid
      ? [
          {
            apiVersion: 'velero.io/v1',
            kind: 'Schedule',
            name: schedule.metadata.name,
            uid: schedule.metadata.uid,
            controller: true,
          },
        ]
      : undefined;
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name,
      namespace: schedule.metadata.namespace ?? 'velero',
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ...(owner ? ({ ownerReferences: owner } as object) : {}),
    },
    spec: template,
  };
}

/** The BackupStorageLocation a backup of this schedule writes to: the template's, else the default one. */
export function storageLocationFor(schedule: KubeObject, locations: readonly KubeObject[]): string | null {
  const named = (schedule.spec?.['template'] as { storageLocation?: string } | undefined)?.storageLocation;
  if (named) return named;
  return locations.find((l) => l.spec?.['default'] === true)?.metadata.name ?? null;
}

export interface LocationCheck {
  name: string | null;
  ok: boolean;
  phase: string;
  message: string;
}

/** Is the schedule's BackupStorageLocation `Available` (Velero validates it against S3 every minute)? */
export function checkStorageLocation(schedule: KubeObject, locations: readonly KubeObject[]): LocationCheck {
  const name = storageLocationFor(schedule, locations);
  if (!name)
    return {
      name: null,
      ok: false,
      phase: '',
      message: `schedule ${schedule.metadata.name} names no storageLocation and no BackupStorageLocation is the default`,
    };
  const bsl = locations.find((l) => l.metadata.name === name);
  if (!bsl) return { name, ok: false, phase: '', message: `BackupStorageLocation ${name} does not exist` };
  const phase = String(bsl.status?.['phase'] ?? '');
  const detail = String(bsl.status?.['message'] ?? '');
  return {
    name,
    ok: phase === 'Available',
    phase,
    message:
      phase === 'Available'
        ? `BackupStorageLocation ${name} is Available`
        : `BackupStorageLocation ${name} is ${phase || 'not validated yet'}${detail ? `: ${detail}` : ''}`,
  };
}

// ---- commands (run on a master with runBatch or one exec each) -----------------------------------

export function getSchedule(paths: Rke2Paths, namespace: string, name: string): ShellFragment {
  assertIdentifier('namespace', 'velero.namespace', namespace);
  assertIdentifier('objectName', 'velero.schedule', name);
  return kubectl(paths, sh`-n ${namespace} get schedules.velero.io ${name} -o json`);
}

export function getStorageLocations(paths: Rke2Paths, namespace: string): ShellFragment {
  assertIdentifier('namespace', 'velero.namespace', namespace);
  return kubectl(paths, sh`-n ${namespace} get backupstoragelocations.velero.io -o json`);
}

/** `kubectl create -f -` of a manifest (sent base64-encoded inside the quoted script). */
export function createObject(paths: Rke2Paths, manifest: object): ShellFragment {
  const b64 = Buffer.from(JSON.stringify(manifest), 'utf8').toString('base64');
  return sh`printf %s ${b64} | base64 -d | ${kubectl(paths, sh`create -f - -o name`)}`;
}

export function getBackup(paths: Rke2Paths, namespace: string, name: string): ShellFragment {
  assertIdentifier('objectName', 'velero backup name', name);
  return kubectl(paths, sh`-n ${namespace} get backups.velero.io ${name} -o json`);
}

export function getPodVolumeBackups(paths: Rke2Paths, namespace: string, backup: string): ShellFragment {
  return kubectl(
    paths,
    sh`-n ${namespace} get podvolumebackups.velero.io -l ${`velero.io/backup-name=${backup}`} -o json`,
  );
}

/** The parts of a Backup's status a report needs. */
export function readBackupStatus(
  backup: KubeObject,
): Pick<
  VeleroBackupResult,
  'phase' | 'errors' | 'warnings' | 'validationErrors' | 'failureReason' | 'startedAt' | 'completedAt'
> {
  const s = backup.status ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const failureReason = str(s['failureReason']);
  const startedAt = str(s['startTimestamp']);
  const completedAt = str(s['completionTimestamp']);
  return {
    phase: String(s['phase'] ?? ''),
    errors: Number(s['errors'] ?? 0),
    warnings: Number(s['warnings'] ?? 0),
    validationErrors: Array.isArray(s['validationErrors'])
      ? (s['validationErrors'] as unknown[]).map(String)
      : [],
    ...(failureReason ? { failureReason } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(completedAt ? { completedAt } : {}),
  };
}

/** `<ns>/<pod> volume <v>: <message>` for every PodVolumeBackup that did not complete. */
export function failedVolumes(list: { items?: KubeObject[] }): string[] {
  return (list.items ?? [])
    .filter((p) => p.status?.['phase'] !== 'Completed')
    .map((p) => {
      const pod = p.spec?.['pod'] as { namespace?: string; name?: string } | undefined;
      return `${pod?.namespace ?? '?'}/${pod?.name ?? '?'} volume ${String(p.spec?.['volume'] ?? '?')}: ${String(p.status?.['phase'] ?? 'New')}${p.status?.['message'] ? ` - ${String(p.status['message'])}` : ''}`;
    });
}
