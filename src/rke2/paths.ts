import { posix } from 'node:path';
import { assertAbsolutePath } from '../lib/identifiers.js';

/** The node kubeconfig RKE2 writes on every server (rke2-facts.md §4). */
export const RKE2_KUBECONFIG = '/etc/rancher/rke2/rke2.yaml';

/**
 * The RKE2 paths the toolkit reads and writes on a server, from the data dir (inventory
 * `rke2.data_dir`) and, when `etcd-snapshot-dir` is customised, the snapshot dir.
 */
export interface Rke2Paths {
  dataDir: string;
  /** `${data-dir}/server/db/snapshots` unless `etcd-snapshot-dir` says otherwise. */
  snapshotDir: string;
  /**
   * Where snapshot metadata lives: `<snapshot dir>/../.metadata`, the directory RKE2 itself
   * reads `.metadata/<file>` from (K3s listLocalSnapshots). RKE2 lists every file under the
   * snapshot dir as a snapshot, so nothing of ours may go there.
   */
  metadataDir: string;
  /** `server/token`: its digest travels with a snapshot (a restore needs the same token). */
  token: string;
  /** `server/last-pre-upgrade-snapshot`: the real file name of the newest verified pre-upgrade snapshot. */
  lastPreUpgradeMarker: string;
  kubectl: string;
  kubeconfig: string;
}

export function rke2Paths(dataDir: string, snapshotDir?: string): Rke2Paths {
  const data = assertAbsolutePath('rke2.data_dir', dataDir).replace(/\/+$/, '') || '/';
  const snapshots = snapshotDir
    ? assertAbsolutePath('snapshot-dir', snapshotDir).replace(/\/+$/, '')
    : `${data}/server/db/snapshots`;
  return {
    dataDir: data,
    snapshotDir: snapshots,
    metadataDir: posix.join(posix.dirname(snapshots), '.metadata'),
    token: `${data}/server/token`,
    lastPreUpgradeMarker: `${data}/server/last-pre-upgrade-snapshot`,
    kubectl: `${data}/bin/kubectl`,
    kubeconfig: RKE2_KUBECONFIG,
  };
}
