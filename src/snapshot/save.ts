import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { errorMessage } from '../lib/errors.js';
import { runBatch, type Step } from '../rke2/batch.js';
import { etcdSnapshotDelete, removeFiles, writeFileAtomic } from '../rke2/commands.js';
import { parseSnapshotFile, snapshotBaseName } from '../rke2/names.js';
import { deletedFiles } from '../rke2/parse.js';
import { metadataKey, snapshotKey } from '../s3/settings.js';
import { runVeleroBackup, veleroVerdict } from '../velero/run.js';
import type { VeleroBackupResult } from '../velero/types.js';
import { levelAtLeast, veleroBackupName, type SnapshotConfig } from './config.js';
import { preflight } from './facts.js';
import {
  etcdMinorFromImage,
  localMetadataPath,
  METADATA_FORMAT,
  serializeMetadata,
  type SnapshotMetadata,
} from './metadata.js';
import { selectForDeletion } from './retention.js';
import { fail, StepFailure } from './run-state.js';
import { rke2Records, recordedErrors, saveOnMaster, type SavedSnapshot } from './save-step.js';
import { Session, TOOL_VERSION, type SnapshotDeps } from './session.js';
import type { SnapshotCheck, SnapshotFacts, SnapshotFailure, SnapshotReport } from './types.js';
import { localCheck, restoreCheck, s3Check } from './verify.js';
import { finishReport } from './report.js';

/**
 * `save`: a snapshot that is proven, not assumed. Preflight -> `rke2 etcd-snapshot save` ->
 * the checks up to the verification level (local file; S3 object size and sha256; a trial
 * restore on the runner) and, when the inventory enables it, a Velero backup from the schedule
 * (started right after the save, polled while the etcd checks run) -> metadata beside the file
 * on the master and in S3 -> the pre-upgrade marker and this prefix's retention, only when
 * everything passed. Any failure: verified=false, the one clear error (phase, node, next step)
 * and nothing deleted.
 */
export async function runSave(config: SnapshotConfig, deps: SnapshotDeps): Promise<SnapshotReport> {
  const startupMs = Math.round(performance.now());
  const session = new Session(config, deps);
  const { run } = session;
  const node = config.master.name;
  if (config.level === 'restore') session.etcdTools();
  let facts: SnapshotFacts | undefined;
  let saved: SavedSnapshot | undefined;
  let baseName = '';
  let failure: SnapshotFailure | undefined;
  let velero: Promise<VeleroBackupResult | null> | null = null;
  let download: string | undefined;
  const scratch = await mkdtemp(join(deps.tempDir(), 'rke2ops-snapshot-'));
  const report: Partial<SnapshotReport> = {};
  try {
    const shell = await run.phase('connect', () => session.shell(config.master, 'connect'));
    const pre = await run.phase('preflight', () =>
      preflight(shell, {
        paths: config.paths,
        velero: config.velero,
        timeoutMs: run.execTimeout(60_000),
        secrets: deps.secrets,
      }),
    );
    facts = pre.facts;
    const versions = Object.entries(facts.nodeVersions);
    run.check({
      name: 'preflight',
      level: 'preflight',
      status: 'pass',
      node,
      message: `rke2-server active on ${node} (${facts.serverVersion ?? 'version unknown'}); ${versions.length} node(s): ${[...new Set(versions.map(([, v]) => v))].join(', ')}; ${facts.counts.namespaces} namespaces, ${facts.counts.secrets} secrets`,
    });
    if (config.velero && pre.velero && 'error' in pre.velero)
      fail(
        'preflight',
        node,
        pre.velero.error,
        `check Velero (namespace ${config.velero.namespace}, schedule ${config.velero.schedule}), or set velero: false`,
      );

    baseName = snapshotBaseName(config.prefix, new Date(deps.clock.now()));
    deps.logger.info(`saving ${baseName} on ${node}`);
    saved = await run.phase('save', async () => {
      try {
        return await saveOnMaster(shell, {
          paths: config.paths,
          baseName,
          timeoutMs: run.execTimeout(),
          secrets: deps.secrets,
        });
      } catch (error) {
        // A save that wrote nothing: RKE2's own record says why (ENOSPC, ...).
        if (error instanceof StepFailure && !/already exists/.test(error.message))
          error.failure.message += recordedErrors(
            await rke2Records(shell, config.paths, baseName, deps.secrets),
            'local',
          );
        throw error;
      }
    });
    saved.warnings.forEach((w) => run.warn(w));
    const file = saved.file;
    report.snapshot = {
      file,
      name: baseName,
      size: saved.size,
      sha256: saved.sha256,
      createdAt: createdAtOf(file, deps.clock.now()),
      compressed: file.endsWith('.zip'),
      localPath: saved.localPath,
      s3Key: config.s3 ? snapshotKey(config.s3, file) : null,
    };

    if (config.velero && pre.velero && 'schedule' in pre.velero) {
      const v = pre.velero;
      velero = run
        .phase(
          'velero',
          () =>
            runVeleroBackup(
              {
                namespace: config.velero!.namespace,
                schedule: v.schedule,
                locations: v.locations,
                name: veleroBackupName(baseName),
                labels: { 'rke2-ops.io/etcd-snapshot': baseName },
                annotations: { 'rke2-ops.io/etcd-snapshot-file': file },
                deadline: run.deadline,
              },
              { shell, paths: config.paths, clock: deps.clock, logger: deps.logger, secrets: deps.secrets },
            ),
          { group: false },
        )
        .catch((error: unknown) => {
          run.warn(`velero: ${errorMessage(error)}`);
          return null;
        });
    }

    const listedLocal = saved.listed?.find((e) => e.storage === 'local');
    const local = run.check(
      localCheck(node, saved.localPath, saved, null, {
        listedSize: listedLocal ? listedLocal.size : undefined,
      }),
    );
    if (local.status === 'fail')
      fail('verify-local', node, local.message, 'read `journalctl -u rke2-server` on the master');

    if (levelAtLeast(config.level, 's3') && session.bucket) {
      const bucket = session.bucket;
      const key = snapshotKey(bucket.settings, file);
      const expectS3 = saved.savedLines.length;
      const result = await run.phase('verify-s3', () =>
        s3Check(bucket, key, saved!, {
          ...(config.level === 'restore' ? { downloadTo: join(scratch, file) } : {}),
          signal: run.signal,
          hint: async () => {
            const said =
              expectS3 < 2 ? ` RKE2 printed ${expectS3} "saved" line(s) (one per location that worked).` : '';
            return `${said}${recordedErrors(await rke2Records(shell, config.paths, baseName, deps.secrets), 's3')}`;
          },
        }),
      );
      result.checks.forEach((c) => run.check(c));
      const bad = result.checks.find((c) => c.status === 'fail');
      if (bad)
        fail(
          'verify-s3',
          's3',
          bad.message,
          'check the etcd-s3-* settings on the masters and the bucket (the snapshot stays on the master), then run again',
        );
      download = result.downloaded;
    } else run.skip('verify-s3');

    if (config.level === 'restore') {
      const tools = await run.phase('etcd-tools', async () => {
        try {
          return await session.etcdTools();
        } catch (error) {
          return fail(
            'etcd-tools',
            'runner',
            `cannot install etcd ${config.etcd.version}: ${errorMessage(error)}`,
            'check etcd-version and etcd-download-base-url',
          );
        }
      });
      const r = await run.phase('verify-restore', () =>
        restoreCheck(download!, {
          compressed: file.endsWith('.zip'),
          tools,
          expected: { before: facts!.counts, after: saved!.countsAfter },
          tempDir: scratch,
          signal: run.signal,
          timeoutMs: run.execTimeout(300_000),
        }),
      );
      run.check(r.check);
      report.restore = r.result?.status ?? null;
      if (r.check.status === 'fail')
        fail(
          'verify-restore',
          'runner',
          r.check.message,
          'do not upgrade on this snapshot; take a new one and investigate the S3 copy',
        );
    } else run.skip('verify-restore');

    if (velero) {
      const v = await velero;
      if (v) {
        report.velero = v;
        const verdict = veleroVerdict(v, config.velero?.allowPartiallyFailed);
        run.check({
          name: 'velero-backup',
          level: 'velero',
          status: verdict.ok ? 'pass' : 'fail',
          message: verdict.message,
          node,
        });
        if (!verdict.ok)
          fail(
            'velero',
            node,
            verdict.message,
            'inspect the backup (velero backup describe --details, or kubectl -n velero get backup -o yaml) and run again',
          );
      } else
        fail(
          'velero',
          node,
          'the Velero backup could not be run (see the warnings)',
          'check Velero, or set velero: false',
        );
    }
  } catch (error) {
    failure =
      error instanceof StepFailure
        ? error.failure
        : {
            phase: run.phases.at(-1)?.name ?? 'run',
            node,
            message: errorMessage(error),
            next: 'see the log above; run again',
          };
    run.logger.error(`${failure.phase} on ${failure.node}: ${failure.message}`);
    if (velero && !report.velero) report.velero = (await velero) ?? undefined;
  }
  try {
    if (saved && facts) await record(session, { saved, facts, baseName, failure, report });
    return finishReport(session, {
      ...report,
      mode: 'save',
      ...(facts ? { facts } : {}),
      ...(failure ? { failure } : {}),
      startupMs,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await session.close();
  }
}

const createdAtOf = (file: string, fallbackMs: number) =>
  new Date((parseSnapshotFile(file)?.unixTs ?? Math.floor(fallbackMs / 1000)) * 1000).toISOString();

/**
 * The metadata (S3 first, then the master, so the master never says verified when S3 does not
 * hold the record), then - only when verified - the pre-upgrade marker and this prefix's
 * retention, in ONE exec on the master. A failed metadata write fails the gate: rollback relies
 * on it when the master's disk is gone.
 */
async function record(
  session: Session,
  ctx: {
    saved: SavedSnapshot;
    facts: SnapshotFacts;
    baseName: string;
    failure: SnapshotFailure | undefined;
    report: Partial<SnapshotReport>;
  },
): Promise<void> {
  const { config, deps, run } = session;
  const { saved } = ctx;
  const node = config.master.name;
  const stored = {
    local: 'skipped',
    s3: session.bucket ? 'skipped' : 'skipped (no S3 credentials or no etcd_s3)',
  };
  ctx.report.metadataStored = stored;
  await run.phase('record', async () => {
    let verified = !ctx.failure && run.checks.every((c) => c.status !== 'fail');
    // One timestamp for both copies: the master's and the S3 metadata are the same document.
    const at = new Date(deps.clock.now()).toISOString();
    const build = (ok: boolean) => buildMetadata(session, { ...ctx, verified: ok, at });
    // Failure path: a short grace beyond the budget for the bookkeeping.
    const timeoutMs = ctx.failure ? 15_000 : run.execTimeout(60_000);
    if (session.bucket) {
      const key = metadataKey(session.bucket.settings, saved.file);
      try {
        await session.bucket.put(
          key,
          serializeMetadata(build(verified)),
          'application/json',
          AbortSignal.timeout(timeoutMs),
        );
        stored.s3 = 'written';
        run.check({
          name: 'metadata-s3',
          level: 'metadata',
          status: 'pass',
          message: `s3://${session.bucket.settings.bucket}/${key}`,
        });
      } catch (error) {
        stored.s3 = errorMessage(error);
        if (verified) {
          verified = false;
          run.check({
            name: 'metadata-s3',
            level: 'metadata',
            status: 'fail',
            message: `could not write the metadata to S3: ${stored.s3}`,
          });
          ctx.failure = {
            phase: 'record',
            node: 's3',
            message: `the metadata could not be written to S3: ${stored.s3}`,
            next: 'check S3 and run again',
          };
        } else run.warn(`metadata not written to S3: ${stored.s3}`);
      }
    }
    const metadata = build(verified);
    ctx.report.metadata = metadata;
    const shell = await session.pool.get(config.master).catch(() => null);
    if (!shell) {
      stored.local = 'not written: no connection to the master';
      return;
    }
    const deleted =
      verified && config.retention > 0 && saved.all
        ? selectForDeletion(
            saved.all.map((e) => e.file),
            saved.file,
            config.prefix,
            config.retention,
          )
        : null;
    if (verified && config.retention > 0 && !saved.all)
      run.warn('retention skipped: etcd-snapshot ls failed, so the snapshots of this prefix are unknown');
    const mark = verified && config.kind === 'pre-upgrade';
    const steps: Step[] = [
      {
        key: 'meta',
        command: writeFileAtomic(
          localMetadataPath(config.paths.metadataDir, saved.file),
          serializeMetadata(metadata),
        ),
        stopOnFailure: true,
      },
      ...(mark
        ? [
            {
              key: 'marker',
              command: writeFileAtomic(config.paths.lastPreUpgradeMarker, `${saved.file}\n`),
              stopOnFailure: true,
            },
          ]
        : []),
      ...(deleted?.deleted.length
        ? [
            { key: 'delete', command: etcdSnapshotDelete(deleted.deleted) },
            {
              key: 'rmmeta',
              command: removeFiles(
                deleted.deleted.map((f) => localMetadataPath(config.paths.metadataDir, f)),
              ),
            },
          ]
        : []),
    ];
    let r;
    try {
      r = await runBatch(shell, steps, { timeoutMs, secrets: deps.secrets });
    } catch (error) {
      stored.local = errorMessage(error);
      if (verified) {
        ctx.failure = {
          phase: 'record',
          node,
          message: `the metadata could not be written on ${node}: ${stored.local}`,
          next: 'check the master and run again',
        };
        run.check({ name: 'metadata-local', level: 'metadata', status: 'fail', node, message: stored.local });
      }
      return;
    }
    if (r.meta!.code !== 0) {
      stored.local = r.meta!.stderr.trim() || `exit ${r.meta!.code}`;
      if (verified) {
        ctx.failure = {
          phase: 'record',
          node,
          message: `the metadata could not be written on ${node}: ${stored.local}`,
          next: 'check the disk of the master and run again',
        };
        run.check({ name: 'metadata-local', level: 'metadata', status: 'fail', node, message: stored.local });
      } else run.warn(`metadata not written on ${node}: ${stored.local}`);
      return;
    }
    stored.local = 'written';
    run.check({
      name: 'metadata-local',
      level: 'metadata',
      status: 'pass',
      node,
      message: localMetadataPath(config.paths.metadataDir, saved.file),
    });
    ctx.report.marked = Boolean(mark && r.marker?.code === 0);
    if (mark && r.marker?.code !== 0)
      run.warn(`could not write ${config.paths.lastPreUpgradeMarker}: ${r.marker?.stderr.trim()}`);
    if (deleted) {
      const confirmed = r.delete ? deletedFiles(r.delete.stderr) : [];
      const gone = deleted.deleted.filter((f) => confirmed.includes(f));
      const missed = deleted.deleted.filter((f) => !confirmed.includes(f));
      if (r.delete && r.delete.code !== 0)
        run.warn(`retention: rke2 etcd-snapshot delete failed: ${r.delete.stderr.trim()}`);
      if (missed.length) run.warn(`retention: RKE2 did not confirm deleting ${missed.join(', ')}`);
      if (session.bucket)
        for (const f of gone)
          await session.bucket
            .delete(metadataKey(session.bucket.settings, f), run.signal)
            .catch((e: unknown) => run.warn(`retention: ${errorMessage(e)}`));
      ctx.report.retention = { keep: config.retention, kept: [saved.file, ...deleted.kept], deleted: gone };
      if (gone.length)
        deps.logger.info(
          `retention (${config.prefix}, keep ${config.retention}): deleted ${gone.join(', ')}`,
        );
    }
  });
}

function buildMetadata(
  session: Session,
  ctx: {
    saved: SavedSnapshot;
    facts: SnapshotFacts;
    baseName: string;
    report: Partial<SnapshotReport>;
    verified: boolean;
    at: string;
  },
): SnapshotMetadata {
  const { config, run, deps } = session;
  const { saved, facts } = ctx;
  const s3 = config.s3;
  const restoreStatus = ctx.report.restore ?? null;
  const v = ctx.report.velero;
  return {
    format: METADATA_FORMAT,
    file: saved.file,
    name: ctx.baseName,
    prefix: config.prefix,
    kind: config.kind,
    cluster: config.cluster,
    node: config.master.name,
    createdAt: createdAtOf(saved.file, deps.clock.now()),
    size: saved.size,
    sha256: saved.sha256,
    compressed: saved.file.endsWith('.zip'),
    local: { path: saved.localPath },
    s3: s3
      ? {
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          folder: s3.folder,
          region: s3.region,
          insecure: s3.insecure,
          key: snapshotKey(s3, saved.file),
          metadataKey: metadataKey(s3, saved.file),
        }
      : null,
    rke2: { server: facts.serverVersion, nodes: facts.nodeVersions },
    etcd: {
      dataVersion: etcdMinorFromImage(facts.etcdImage),
      image: facts.etcdImage,
      storageVersion: restoreStatus?.version ?? null,
      revision: restoreStatus?.revision ?? null,
    },
    tokenSha256: facts.tokenSha256,
    counts: { before: facts.counts, after: saved.countsAfter },
    velero: v
      ? {
          name: v.name,
          namespace: v.namespace,
          schedule: v.schedule,
          storageLocation: v.storageLocation,
          phase: v.phase,
        }
      : null,
    verification: {
      level: config.level,
      verified: ctx.verified,
      at: ctx.at,
      checks: run.checks
        .filter((c) => c.level !== 'metadata')
        .map((c: SnapshotCheck) => ({ name: c.name, level: c.level, status: c.status, message: c.message })),
    },
    tool: { name: 'rke2-ops', version: TOOL_VERSION },
  };
}
