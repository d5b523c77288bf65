import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { errorMessage } from '../lib/errors.js';
import { runBatch } from '../rke2/batch.js';
import { digestFiles } from '../rke2/commands.js';
import { parseDigests } from '../rke2/parse.js';
import { parseSnapshotFile } from '../rke2/names.js';
import { snapshotKey } from '../s3/settings.js';
import type { RemoteShell } from '../ssh/types.js';
import { levelAtLeast, type SnapshotConfig } from './config.js';
import { buildCatalog, listMaster, listS3, resolveSnapshot, type MasterListing } from './catalog.js';
import { finishReport } from './report.js';
import { fail, StepFailure } from './run-state.js';
import { Session, type SnapshotDeps } from './session.js';
import type { SnapshotFailure, SnapshotReport } from './types.js';
import { localCheck, restoreCheck, s3Check, type Expected } from './verify.js';

/**
 * `verify`: re-proves an existing snapshot (a file name or `latest-pre-upgrade`) at a level,
 * against its metadata - the recorded size, sha256 and object counts - and changes nothing.
 * The local copy is checked on the master that took it; when it is gone (a wiped `server/db`, a
 * lost disk), the S3 copy carries the proof at the s3 and restore levels. Used before a
 * rollback and by the backup-freshness workflow.
 */
export async function runVerify(config: SnapshotConfig, deps: SnapshotDeps): Promise<SnapshotReport> {
  const startupMs = Math.round(performance.now());
  const session = new Session(config, deps);
  const { run } = session;
  if (config.level === 'restore') session.etcdTools();
  const report: Partial<SnapshotReport> = {};
  let failure: SnapshotFailure | undefined;
  const scratch = await mkdtemp(join(deps.tempDir(), 'rke2ops-verify-'));
  try {
    let shell: RemoteShell | null = null;
    try {
      shell = await run.phase('connect', () => session.shell(config.master, 'connect'));
    } catch (error) {
      if (!session.bucket || config.level === 'local') throw error;
      run.warn(`${errorMessage(error)}; verifying the S3 copy only`);
    }
    const resolved = await run.phase('resolve', async () => {
      try {
        return await resolveSnapshot(config.snapshot, {
          cluster: config.cluster,
          shell,
          paths: config.paths,
          bucket: session.bucket,
          secrets: deps.secrets,
          signal: run.signal,
        });
      } catch (error) {
        return fail(
          'resolve',
          config.master.name,
          errorMessage(error),
          'list the snapshots (mode list / rke2-ops snapshot list) and give one by name',
        );
      }
    });
    const { file, metadata } = resolved;
    report.latestPreUpgrade = config.snapshot === 'latest-pre-upgrade' ? file : null;
    deps.logger.info(
      `verifying ${file} (${resolved.source}${metadata ? ', with metadata' : ', no metadata'})`,
    );
    if (metadata && metadata.cluster !== config.cluster)
      fail(
        'resolve',
        config.master.name,
        `${file} belongs to cluster ${metadata.cluster}, not ${config.cluster}`,
        'pick a snapshot of this cluster',
      );
    if (metadata) report.metadata = metadata;

    // The master that holds the local copy: the one that took it, when it is in the inventory.
    const holderTarget = config.masters.find((m) => m.name === metadata?.node) ?? config.master;
    let holder: RemoteShell | null = holderTarget.name === config.master.name ? shell : null;
    if (!holder)
      holder = await session.pool.get(holderTarget).catch((error: unknown) => {
        run.warn(`${holderTarget.name}: ${errorMessage(error)}`);
        return null;
      });
    const path = `${config.paths.snapshotDir}/${file}`;
    let found: { size: number; sha256: string } | null = null;
    if (holder) {
      const r = await run.phase('verify-local', () =>
        runBatch(holder!, [{ key: 'digest', command: digestFiles([path]) }], {
          timeoutMs: run.execTimeout(300_000),
          secrets: deps.secrets,
        }),
      );
      found = parseDigests(r.digest!.stdout).found[0] ?? null;
    }
    const expected: Expected | null = metadata ? { size: metadata.size, sha256: metadata.sha256 } : found;
    if (!expected)
      fail(
        'resolve',
        holderTarget.name,
        `${file}: no metadata and no local copy on ${holderTarget.name} to compare with`,
        'give a snapshot taken by this toolkit, or check the master',
      );
    if (found || config.level === 'local') {
      const c = run.check(localCheck(holderTarget.name, path, found, metadata ? expected : null));
      if (c.status === 'fail')
        fail(
          'verify-local',
          holderTarget.name,
          c.message,
          found
            ? 'the local copy is damaged: use the S3 copy or another snapshot'
            : 'verify at level s3, or pick another snapshot',
        );
    } else
      run.check({
        name: 'local-file',
        level: 'local',
        status: 'skip',
        node: holderTarget.name,
        message: `no local copy on ${holderTarget.name}${holder ? '' : ' (unreachable)'}: the S3 copy is checked against the metadata`,
      });
    report.snapshot = {
      file,
      name: metadata?.name ?? file,
      size: expected.size,
      sha256: expected.sha256,
      createdAt: metadata?.createdAt ?? new Date((parseSnapshotFile(file)?.unixTs ?? 0) * 1000).toISOString(),
      compressed: file.endsWith('.zip'),
      localPath: path,
      s3Key: session.bucket ? snapshotKey(session.bucket.settings, file) : null,
    };

    let downloaded: string | undefined;
    if (levelAtLeast(config.level, 's3') && session.bucket) {
      const res = await run.phase('verify-s3', () =>
        s3Check(session.bucket!, snapshotKey(session.bucket!.settings, file), expected, {
          ...(config.level === 'restore' ? { downloadTo: join(scratch, file) } : {}),
          signal: run.signal,
        }),
      );
      res.checks.forEach((c) => run.check(c));
      const bad = res.checks.find((c) => c.status === 'fail');
      if (bad)
        fail(
          'verify-s3',
          's3',
          bad.message,
          'this snapshot cannot be trusted from S3: pick another one (or restore from the verified local copy)',
        );
      downloaded = res.downloaded;
    } else run.skip('verify-s3');
    if (config.level === 'restore') {
      const tools = await run.phase('etcd-tools', () =>
        session
          .etcdTools()
          .catch((error: unknown) =>
            fail(
              'etcd-tools',
              'runner',
              `cannot install etcd ${config.etcd.version}: ${errorMessage(error)}`,
              'check etcd-version and etcd-download-base-url',
            ),
          ),
      );
      const r = await run.phase('verify-restore', () =>
        restoreCheck(downloaded!, {
          compressed: file.endsWith('.zip'),
          tools,
          expected: metadata ? metadata.counts : null,
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
          'this snapshot cannot be restored as recorded: pick another one',
        );
    } else run.skip('verify-restore');
  } catch (error) {
    failure =
      error instanceof StepFailure
        ? error.failure
        : {
            phase: run.phases.at(-1)?.name ?? 'verify',
            node: config.master.name,
            message: errorMessage(error),
            next: 'see the log above',
          };
    run.logger.error(`${failure.phase} on ${failure.node}: ${failure.message}`);
  }
  try {
    return finishReport(session, { ...report, mode: 'verify', ...(failure ? { failure } : {}), startupMs });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await session.close();
  }
}

/**
 * `list`: every snapshot on every master and in S3, with its metadata and verification state,
 * the `latest-pre-upgrade` one marked - what a person picks a rollback target from. Needs no
 * running rke2-server; an unreachable master is a warning.
 */
export async function runList(config: SnapshotConfig, deps: SnapshotDeps): Promise<SnapshotReport> {
  const startupMs = Math.round(performance.now());
  const session = new Session(config, deps);
  const { run } = session;
  let failure: SnapshotFailure | undefined;
  const report: Partial<SnapshotReport> = {};
  try {
    const [masters, s3] = await run.phase('list', () =>
      Promise.all([
        Promise.all(
          config.masters.map(async (m): Promise<MasterListing | null> => {
            try {
              return await listMaster(await session.pool.get(m), config.paths, deps.secrets);
            } catch (error) {
              run.warn(`${m.name}: not listed (${errorMessage(error)})`);
              return null;
            }
          }),
        ),
        session.bucket
          ? listS3(session.bucket, run.signal).catch((error: unknown) => {
              run.warn(`S3 not listed: ${errorMessage(error)}`);
              return null;
            })
          : Promise.resolve(null),
      ]),
    );
    const reached = masters.filter((m): m is MasterListing => m !== null);
    if (reached.length === 0 && !s3)
      fail(
        'list',
        config.master.name,
        'no master and no S3 could be read',
        'check SSH access and the S3 credentials',
      );
    report.listing = buildCatalog(reached, s3, { cluster: config.cluster, markerMaster: config.master.name });
    report.latestPreUpgrade = report.listing.find((e) => e.latestPreUpgrade)?.file ?? null;
  } catch (error) {
    failure =
      error instanceof StepFailure
        ? error.failure
        : {
            phase: 'list',
            node: config.master.name,
            message: errorMessage(error),
            next: 'see the log above',
          };
  }
  try {
    return finishReport(session, { ...report, mode: 'list', ...(failure ? { failure } : {}), startupMs });
  } finally {
    await session.close();
  }
}
