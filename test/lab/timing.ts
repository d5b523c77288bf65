/**
 * The lab's timing knobs (`<lab dir>/timing.json`, read by the node simulations and the lab
 * controller on every use, so `lab.setTiming()` takes effect at once). The defaults are what a
 * real RKE2/Kubernetes/Velero installation does - a tool tested on the lab must survive them.
 * `timing: 'fast'` is for tests that do not test timing: the same behaviour, shorter waits.
 * Sources are cited per knob; README "Timing" has the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabTiming {
  /**
   * A Node registers NotReady ("cni plugin not initialized") when its unit becomes active and
   * turns Ready this much later (the CNI pods of the node start after the kubelet).
   */
  nodeReadyDelaySec: number;
  /** How long `rke2 server --cluster-reset` runs before it exits with its "restart" line. */
  clusterResetSec: number;
  /**
   * A joining server's etcd member is a learner until the leader promotes it: K3s's
   * manageLearners runs every 15 s on the leader (k3s-io/k3s pkg/etcd/etcd.go,
   * manageTickerTime); the lab promotes this long after the member started.
   */
  learnerPromotionDelaySec: number;
  /**
   * Node lifecycle controller: a Node whose kubelet is gone turns Ready=Unknown after this
   * grace (kube-controller-manager --node-monitor-grace-period, 50 s since Kubernetes 1.32:
   * kubernetes/kubernetes#121793, #127352).
   */
  nodeMonitorGraceSec: number;
  /** systemd RestartSec of rke2-server/rke2-agent (rancher/rke2 bundle/lib/systemd/system/rke2-server.service: 5s). */
  restartSec: number;
  /**
   * Lab-only safety cap on a unit's activation (the real unit has TimeoutStartSec=0: it waits
   * forever). After it the unit is `failed` (Result: timeout), so a forgotten lab dies.
   */
  startSafetyCapSec: number;
  /** Velero BackupStorageLocation validation frequency (velero server default 1m). */
  bslValidationSec: number;
  /** Velero backup sync period (velero server --backup-sync-period, default 1m). */
  backupSyncSec: number;
  /** How long a Velero Backup/Restore stays in Finalizing before its terminal phase. */
  veleroFinalizingSec: number;
}

export const REALISTIC_TIMING: LabTiming = {
  nodeReadyDelaySec: 10,
  clusterResetSec: 15,
  learnerPromotionDelaySec: 10,
  nodeMonitorGraceSec: 50,
  restartSec: 5,
  startSafetyCapSec: 1200,
  bslValidationSec: 60,
  backupSyncSec: 60,
  veleroFinalizingSec: 2,
};

export const FAST_TIMING: LabTiming = {
  nodeReadyDelaySec: 0,
  clusterResetSec: 0,
  learnerPromotionDelaySec: 0,
  nodeMonitorGraceSec: 10,
  restartSec: 1,
  startSafetyCapSec: 1200,
  bslValidationSec: 1,
  backupSyncSec: 2,
  veleroFinalizingSec: 1,
};

export type TimingOption = 'realistic' | 'fast' | Partial<LabTiming>;

/** A preset name, or knobs over the realistic defaults. */
export function resolveTiming(option: TimingOption | undefined): LabTiming {
  if (option === undefined || option === 'realistic') return { ...REALISTIC_TIMING };
  if (option === 'fast') return { ...FAST_TIMING };
  return { ...REALISTIC_TIMING, ...option };
}

export function timingPath(labDir: string): string {
  return join(labDir, 'timing.json');
}

export function readTiming(labDir: string): LabTiming {
  try {
    return { ...REALISTIC_TIMING, ...(JSON.parse(readFileSync(timingPath(labDir), 'utf8')) as object) };
  } catch {
    return { ...REALISTIC_TIMING };
  }
}

export function writeTiming(labDir: string, timing: LabTiming): void {
  writeFileSync(timingPath(labDir), `${JSON.stringify(timing, null, 2)}\n`);
}
