import { errorMessage } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';
import type { Clock } from '../lib/clock.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { BackupFreshnessConfig } from './config.js';
import type { ObjectStore, StoredObject } from './objects.js';
import type { ToolCache } from '../etcd/install.js';
import type { Logger } from '../lib/logger.js';
import { restoreDrill, type RestoreDrillResult } from './drill.js';

/**
 * Backup freshness: is the newest scheduled etcd snapshot in S3, and the newest Velero backup
 * in its object store, younger than the RPO (and the Velero one `Completed`)? Read from the
 * object stores, not the cluster: the backups must be there when the cluster is not.
 *
 * A breach is a failing report (kind `backup-freshness`, the incident envelope's shape: one
 * check per store), never a throw: the incident step opens or updates the issue from it.
 */

export interface FreshnessCheck {
  name: 'etcd-snapshot' | 'etcd-restore-drill' | 'velero-backup';
  status: 'pass' | 'fail';
  message: string;
  /** Where it was looked for (s3://bucket/prefix). */
  failing?: string[];
}

export interface EtcdSnapshotFound {
  name: string;
  node: string;
  key: string;
  size: number;
  takenAt: string;
  ageSeconds: number;
  /** Scheduled snapshots seen under the folder (every node). */
  count: number;
}

export interface VeleroBackupFound {
  name: string;
  phase: string;
  schedule?: string;
  completedAt?: string;
  ageSeconds?: number;
  key: string;
}

export interface BackupFreshnessReport {
  kind: 'backup-freshness';
  cluster: string;
  ok: boolean;
  verdict: string;
  rpoSeconds: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  checks: FreshnessCheck[];
  failedChecks: string[];
  etcd: EtcdSnapshotFound | null;
  velero: VeleroBackupFound | null;
  /** The restore drill of the newest scheduled snapshot; null when none was asked for or none was found. */
  restoreDrill: RestoreDrillResult | null;
}

export interface FreshnessDeps {
  store: ObjectStore;
  clock: Pick<Clock, 'now'>;
  secrets?: SecretRegistry;
  /** Where the restore drill installs etcd's tools (needed only when the config wants a drill). */
  toolCache?: ToolCache;
  logger?: Logger;
  /** Where the drill downloads and restores. */
  tempDir?: string;
}

/** `3h 5m`, `42m 10s`, `2d 4h`: ages people read at a glance. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const join = (...parts: string[]) => parts.filter(Boolean).join('/');

/**
 * RKE2 names a snapshot `<etcd-snapshot-name>-<node>-<unix seconds>[.zip]` and uploads it as
 * `<etcd-s3-folder>/<file>` (its `.metadata/` objects sit beside them and are not snapshots).
 * The time in the name is when the snapshot was taken; LastModified is only the upload.
 */
export function parseSnapshotKey(
  key: string,
  folder: string,
  name: string,
): { file: string; node: string; takenAt: number } | undefined {
  const prefix = folder ? `${folder}/` : '';
  if (!key.startsWith(prefix)) return undefined;
  const file = key.slice(prefix.length);
  const m = new RegExp(`^${escapeRegExp(name)}-([a-z0-9][-a-z0-9.]*)-(\\d{9,11})(\\.zip)?$`).exec(file);
  return m ? { file, node: m[1]!, takenAt: Number(m[2]) * 1000 } : undefined;
}

function newestSnapshot(objects: StoredObject[], folder: string, name: string, now: number) {
  const found = objects
    .map((o) => ({ o, parsed: parseSnapshotKey(o.key, folder, name) }))
    .filter((x): x is { o: StoredObject; parsed: NonNullable<ReturnType<typeof parseSnapshotKey>> } =>
      Boolean(x.parsed && x.o.size > 0),
    )
    .sort((a, b) => b.parsed.takenAt - a.parsed.takenAt);
  const top = found[0];
  if (!top) return null;
  return {
    name: top.parsed.file,
    node: top.parsed.node,
    key: top.o.key,
    size: top.o.size,
    takenAt: new Date(top.parsed.takenAt).toISOString(),
    ageSeconds: (now - top.parsed.takenAt) / 1000,
    count: found.length,
  } satisfies EtcdSnapshotFound;
}

interface VeleroBackupJson {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { phase?: string; completionTimestamp?: string };
}

/** How many of the newest backups are read when looking for one of a given schedule. */
const VELERO_READ_LIMIT = 50;

/**
 * Velero keeps `<prefix>/backups/<name>/velero-backup.json` with the backup's final status in
 * its bucket (what its backup sync restores from). Newest first by upload time.
 */
async function newestVeleroBackup(
  store: ObjectStore,
  velero: NonNullable<BackupFreshnessConfig['velero']>,
  now: number,
): Promise<VeleroBackupFound | null> {
  const objects = (await store.list(velero.bucket, join(velero.prefix, 'backups/'))).filter((o) =>
    o.key.endsWith('/velero-backup.json'),
  );
  objects.sort(
    (a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0) || (a.key < b.key ? 1 : -1),
  );
  for (const o of objects.slice(0, VELERO_READ_LIMIT)) {
    const doc = JSON.parse(await store.getText(velero.bucket, o.key)) as VeleroBackupJson;
    const schedule = doc.metadata?.labels?.['velero.io/schedule-name'];
    if (velero.schedule && schedule !== velero.schedule) continue;
    const completedAt = doc.status?.completionTimestamp;
    const completed = completedAt ? Date.parse(completedAt) : NaN;
    return {
      name: doc.metadata?.name ?? o.key.split('/').at(-2) ?? o.key,
      phase: doc.status?.phase ?? 'unknown',
      ...(schedule ? { schedule } : {}),
      ...(completedAt && !Number.isNaN(completed)
        ? { completedAt: new Date(completed).toISOString(), ageSeconds: (now - completed) / 1000 }
        : {}),
      key: o.key,
    };
  }
  return null;
}

export async function checkBackupFreshness(
  config: BackupFreshnessConfig,
  deps: FreshnessDeps,
): Promise<BackupFreshnessReport> {
  const started = deps.clock.now();
  const redact = (s: string) => deps.secrets?.redact(s) ?? s;
  const rpo = formatAge(config.rpoSeconds);
  const checks: FreshnessCheck[] = [];

  const etcdWhere = `s3://${join(config.etcd.bucket, config.etcd.folder)}/`;
  let etcd: EtcdSnapshotFound | null = null;
  try {
    const objects = await deps.store.list(
      config.etcd.bucket,
      config.etcd.folder ? `${config.etcd.folder}/` : '',
    );
    etcd = newestSnapshot(objects, config.etcd.folder, config.etcd.name, started);
    if (!etcd)
      checks.push({
        name: 'etcd-snapshot',
        status: 'fail',
        message: `no scheduled etcd snapshot (${config.etcd.name}-<node>-<time>) in ${etcdWhere}: check etcd-snapshot-schedule-cron and the masters' S3 settings`,
        failing: [etcdWhere],
      });
    else {
      const fresh = etcd.ageSeconds <= config.rpoSeconds;
      checks.push({
        name: 'etcd-snapshot',
        status: fresh ? 'pass' : 'fail',
        message: fresh
          ? `newest scheduled snapshot ${etcd.name} is ${formatAge(etcd.ageSeconds)} old (RPO ${rpo})`
          : `newest scheduled snapshot ${etcd.name} is ${formatAge(etcd.ageSeconds)} old, older than the RPO ${rpo} (taken ${etcd.takenAt} on ${etcd.node}): scheduled snapshots stopped - check rke2-server on the masters and their S3 upload`,
        ...(fresh ? {} : { failing: [etcdWhere] }),
      });
    }
  } catch (error) {
    checks.push({
      name: 'etcd-snapshot',
      status: 'fail',
      message: `cannot list ${etcdWhere}: ${redact(inertText(errorMessage(error), 300))}`,
      failing: [etcdWhere],
    });
  }

  // The drill runs on a stale snapshot too: whether the last recovery point restores matters
  // most when no newer one is coming. With no snapshot at all there is nothing to drill.
  let drill: RestoreDrillResult | null = null;
  if (config.restoreDrill && etcd) {
    if (!deps.toolCache) throw new Error('a restore drill needs deps.toolCache');
    const r = await restoreDrill({ ...config, restoreDrill: config.restoreDrill }, etcd, {
      store: deps.store,
      toolCache: deps.toolCache,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.tempDir ? { tempDir: deps.tempDir } : {}),
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
    });
    checks.push(r.check);
    drill = r.drill;
  }

  let velero: VeleroBackupFound | null = null;
  if (config.velero) {
    const where = `s3://${join(config.velero.bucket, config.velero.prefix, 'backups')}/`;
    const of = config.velero.schedule ? ` of schedule ${config.velero.schedule}` : '';
    try {
      velero = await newestVeleroBackup(deps.store, config.velero, started);
      if (!velero)
        checks.push({
          name: 'velero-backup',
          status: 'fail',
          message: `no Velero backup${of} in ${where}: check the Velero Schedule and its BackupStorageLocation`,
          failing: [where],
        });
      else {
        const completed = velero.phase === 'Completed';
        const age = velero.ageSeconds;
        const fresh = age !== undefined && age <= config.rpoSeconds;
        const ageText = age === undefined ? 'with no completion time' : `${formatAge(age)} old`;
        checks.push({
          name: 'velero-backup',
          status: completed && fresh ? 'pass' : 'fail',
          message:
            completed && fresh
              ? `newest backup${of} ${velero.name} Completed, ${ageText} (RPO ${rpo})`
              : !completed
                ? `newest backup${of} ${velero.name} is ${velero.phase}, not Completed (${ageText}): velero backup describe ${velero.name} --details`
                : `newest backup${of} ${velero.name} is ${ageText}, older than the RPO ${rpo}: check the Velero Schedule and the velero deployment`,
          ...(completed && fresh ? {} : { failing: [where] }),
        });
      }
    } catch (error) {
      checks.push({
        name: 'velero-backup',
        status: 'fail',
        message: `cannot read ${where}: ${redact(inertText(errorMessage(error), 300))}`,
        failing: [where],
      });
    }
  }

  const failed = checks.filter((c) => c.status === 'fail');
  const finished = deps.clock.now();
  return {
    kind: 'backup-freshness',
    cluster: config.cluster,
    ok: failed.length === 0,
    verdict: failed.length
      ? `backups of ${config.cluster} ${failed.some((c) => c.name !== 'etcd-restore-drill') ? `breach the RPO ${rpo}` : 'are fresh but the newest snapshot does not restore'}: ${failed.map((c) => c.message).join('; ')}`
      : `backups of ${config.cluster} are within the RPO ${rpo}${drill ? ' and the newest snapshot restores' : ''}`,
    rpoSeconds: config.rpoSeconds,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationSeconds: (finished - started) / 1000,
    checks,
    failedChecks: failed.map((c) => c.name),
    etcd,
    velero,
    restoreDrill: drill,
  };
}
