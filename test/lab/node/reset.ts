/**
 * SIMULATION of `rke2 server --cluster-reset [--cluster-reset-restore-path=P] [--etcd-s3=false]`
 * (rke2-facts.md §2.1-§2.4, §9.3), restoring with the REAL `etcdutl snapshot restore` as a new
 * one-member cluster. Failure modes kept: a second reset while server/db/reset-flag exists;
 * a reset while etcd (or rke2-server) still runs on this node (the real one fails binding its
 * ports); with `etcd-s3: true` in config.yaml and no `--etcd-s3=false`, the restore path is an
 * S3 file name, so a full local path is looked up in S3 and fails (and an unreachable S3 fails
 * the download after etcd-s3-timeout). A reset takes timing.clusterResetSec (the real one
 * starts etcd and the API and waits for them, k3s-io/k3s pkg/etcd/etcd.go Reset()); the
 * `reset-hang` scenario makes it never exit, as a reset waiting on a broken etcd does.
 */
import { existsSync, renameSync, rmSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  type NodeSimConfig,
  type RkeConfig,
  cfgBool,
  dataDir,
  running,
  log,
  fatal,
  ensureDir,
  run,
  loadTiming,
  loadFaults,
  sleep,
} from './common.js';
import { dbDir, etcdDir, memberName, peerUrl, hasMemberData } from './etcd.js';
import { type Flags, flagBool, snapshotDir } from './snapshot.js';
import { s3Settings, download, objectKey } from './s3.js';
import { unzipOne } from '../zip.js';

export async function clusterReset(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  if (node.role !== 'master') fatal('cluster-reset is only valid on a server node');
  const db = dbDir(cfg);
  const flag = `${db}/reset-flag`;
  if (existsSync(flag)) {
    fatal(
      `starting kubernetes: preparing server: start managed database: Managed etcd cluster membership was previously reset, please remove the cluster-reset flag and start rke2 normally. If you need to perform another cluster reset, you must first manually delete the file at ${flag}`,
    );
  }
  if (running('rke2-server'))
    fatal('starting kubernetes: preparing server: listen tcp :9345: bind: address already in use');
  if (running('etcd')) {
    fatal(
      `starting kubernetes: preparing server: start managed database: listen tcp ${node.address}:2380: bind: address already in use`,
    );
  }
  const restorePath =
    typeof flags['cluster-reset-restore-path'] === 'string'
      ? (flags['cluster-reset-restore-path'] as string)
      : '';
  const useS3 = flagBool(flags, ['etcd-s3'], cfgBool(cfg, 'etcd-s3'));
  const tmp = `${db}/etcd-reset-tmp`;
  rmSync(tmp, { recursive: true, force: true });
  ensureDir(db);
  const name = memberName(cfg, node, true);
  let source: string;
  let skipHashCheck = false;
  if (restorePath) {
    let file = restorePath;
    if (useS3) {
      // The path is an S3 object name under etcd-s3-folder (§2.4).
      const s = s3Settings({ ...cfg, ...s3Overrides(flags) });
      const dest = `${snapshotDir(cfg)}/${basename(restorePath)}`;
      ensureDir(snapshotDir(cfg));
      log.info(`Retrieving etcd snapshot ${restorePath} from S3`);
      try {
        await download(s, restorePath, dest);
      } catch (error) {
        fatal(
          `starting kubernetes: preparing server: start managed database: failed to get etcd snapshot s3://${s.bucket}/${objectKey(s, restorePath)} from S3: ${(error as Error).message}`,
        );
      }
      file = dest;
    }
    if (!existsSync(file))
      fatal(
        `starting kubernetes: preparing server: start managed database: stat ${file}: no such file or directory`,
      );
    if (file.endsWith('.zip')) {
      log.info(`Decompressing etcd snapshot ${file}`);
      try {
        const { data } = unzipOne(readFileSync(file));
        writeFileSync(`${db}/reset-decompressed.db`, data);
      } catch (error) {
        fatal(
          `starting kubernetes: preparing server: start managed database: failed to decompress snapshot ${file}: ${(error as Error).message}`,
        );
      }
      source = `${db}/reset-decompressed.db`;
    } else source = file;
    log.info(`Pre-restore etcd database moved to ${db}/etcd-old-<ts>`);
  } else {
    // Reset membership only: rebuild a one-member cluster from this member's own data.
    if (!hasMemberData(cfg))
      fatal('starting kubernetes: preparing server: start managed database: no etcd data to reset');
    source = `${db}/reset-current.db`;
    copyFileSync(`${etcdDir(cfg)}/member/snap/db`, source);
    skipHashCheck = true;
  }
  const r = run(node.tools.etcdutl, [
    'snapshot',
    'restore',
    source,
    `--data-dir=${tmp}`,
    `--name=${name}`,
    `--initial-cluster=${name}=${peerUrl(node.address)}`,
    `--initial-cluster-token=${node.lab}-reset-${Date.now()}`,
    `--initial-advertise-peer-urls=${peerUrl(node.address)}`,
    ...(skipHashCheck ? ['--skip-hash-check'] : []),
  ]);
  rmSync(`${db}/reset-decompressed.db`, { force: true });
  rmSync(`${db}/reset-current.db`, { force: true });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    fatal(
      `starting kubernetes: preparing server: start managed database: failed to restore etcd snapshot: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  if (existsSync(etcdDir(cfg))) {
    const old = `${db}/etcd-old-${Math.floor(Date.now() / 1000)}`;
    renameSync(etcdDir(cfg), old);
  }
  renameSync(tmp, etcdDir(cfg));
  writeFileSync(flag, '');
  if (loadFaults().resetHang) {
    // Scenario reset-hang: the reset's etcd never becomes ready; RKE2 keeps waiting.
    for (;;) {
      log.info('Waiting for etcd server to become available');
      await sleep(5000);
    }
  }
  const resetSec = loadTiming(node).clusterResetSec;
  if (resetSec > 0) {
    log.info('Waiting for etcd server to become available');
    await sleep(resetSec * 1000);
  }
  log.info(
    'Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete ${datadir}/server/db on each peer etcd server and rejoin the nodes',
  );
  void dataDir;
}

function s3Overrides(flags: Flags): RkeConfig {
  const out: RkeConfig = {};
  for (const [k, v] of Object.entries(flags)) if (k.startsWith('etcd-s3-')) out[k] = v;
  return out;
}
