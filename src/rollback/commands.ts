import { sh, ShellFragment } from '../lib/quote.js';
import { assertAbsolutePath, assertIdentifier } from '../lib/identifiers.js';
import { kubectl } from '../rke2/commands.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { NodeRole } from './types.js';

/**
 * The node commands of a rollback as shell fragments built from quoted arguments (rke2-facts.md
 * §2, §3.1, §10). Each is one step of a phase on one node; plan.ts shows them in a dry run,
 * the phases run them. Nothing here decides an order: that is the plan's job.
 */

export const unitOf = (role: NodeRole) => (role === 'master' ? 'rke2-server' : 'rke2-agent');

/** Where this toolkit keeps the rollback's lock and state on master-0 (nothing RKE2 reads or wipes). */
export const stateDir = (paths: Rke2Paths) => `${paths.dataDir}/server/rke2-ops`;
export const lockDir = (paths: Rke2Paths) => `${stateDir(paths)}/rollback.lock`;
export const stateFile = (paths: Rke2Paths) => `${stateDir(paths)}/rollback-state.json`;
export const resetFlag = (paths: Rke2Paths) => `${paths.dataDir}/server/db/reset-flag`;
export const serverDb = (paths: Rke2Paths) => `${paths.dataDir}/server/db`;

/**
 * `rke2-killall.sh` (rke2-facts.md §2.8): stopping the unit leaves pods, etcd and the API running
 * (KillMode=process). Idempotent.
 */
export function killall(): ShellFragment {
  return sh`rke2-killall.sh >/dev/null`;
}

/**
 * The install command with the version (and, on workers, the agent type) in its environment,
 * as `curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION=<v> [INSTALL_RKE2_TYPE=agent] sh -`.
 * The command itself is the operator's (inventory `rke2.install_command` or the input): one line
 * of shell, run as given. It does not start the service.
 */
export function install(command: string, version: string, role: NodeRole): ShellFragment {
  assertIdentifier('rke2Version', 'version', version);
  return sh`export INSTALL_RKE2_VERSION=${version} INSTALL_RKE2_TYPE=${role === 'master' ? 'server' : 'agent'}; ${new ShellFragment(command)}`;
}

export const RESET_DONE = 'restart without --cluster-reset flag now';

/**
 * The cluster-reset restore on master-0 (rke2-facts.md §2.1, §2.4, §10): a stale reset-flag
 * (from an interrupted run) is removed first; a local file is restored with `--etcd-s3=false`
 * and its full path (with `etcd-s3` in config.yaml RKE2 would look the path up in S3), an S3
 * snapshot by its bare file name. Bounded by `timeout` on the node too: a reset that never
 * exits is killed there, not left behind.
 */
export function clusterReset(
  paths: Rke2Paths,
  source: { kind: 'local'; path: string } | { kind: 's3'; file: string },
  timeoutSeconds: number,
): ShellFragment {
  const t = String(Math.max(1, Math.round(timeoutSeconds)));
  const restore =
    source.kind === 'local'
      ? sh`--etcd-s3=false ${`--cluster-reset-restore-path=${assertAbsolutePath('snapshot path', source.path)}`}`
      : sh`${`--cluster-reset-restore-path=${assertIdentifier('snapshotName', 'snapshot', source.file)}`}`;
  return sh`rm -f ${resetFlag(paths)}; timeout -k 5 ${t} rke2 server --cluster-reset ${restore}`;
}

/** Moves a damaged local copy out of the snapshot dir before an S3 restore downloads a good one. */
export function moveAside(path: string, dest: string): ShellFragment {
  assertAbsolutePath('file', path);
  assertAbsolutePath('dest', dest);
  return sh`mkdir -p ${dest.slice(0, dest.lastIndexOf('/'))}; if [ -e ${path} ]; then mv -f ${path} ${dest}; fi`;
}

/**
 * A peer's `server/db` moved aside - kept, never deleted (rke2-facts.md §9.1) - so it joins
 * master-0's restored cluster as a new member instead of restarting its old one.
 */
export function moveDbAside(paths: Rke2Paths, stamp: string): ShellFragment {
  const db = serverDb(paths);
  return sh`if [ -d ${db} ]; then mv ${db} ${`${db}.bak-${stamp}`}; fi`;
}

/**
 * `systemctl start --no-block`: RKE2's unit is Type=notify with no start timeout, so a blocking
 * start can wait forever (a peer that cannot join). Prints the node's clock (epoch seconds):
 * a Node status posted after it is this start's, not a stale one from the snapshot.
 */
export function startNoBlock(role: NodeRole): ShellFragment {
  return sh`systemctl reset-failed ${unitOf(role)} >/dev/null 2>&1 || true; systemctl start --no-block ${unitOf(role)}; date +%s`;
}

export function isActive(role: NodeRole): ShellFragment {
  return sh`systemctl is-active ${unitOf(role)} || true`;
}

/** What a stuck node says: its unit state and the journal tail. */
export function unitDiagnostics(role: NodeRole, lines = 15): ShellFragment {
  return sh`systemctl status ${unitOf(role)} --no-pager 2>&1 | head -n 3 || true; echo ---; journalctl -u ${unitOf(role)} -n ${lines} --no-pager -o cat 2>&1 || true`;
}

/** `/readyz` through master-0's own kubectl. */
export function readyz(paths: Rke2Paths): ShellFragment {
  return kubectl(paths, sh`get --raw /readyz`, 10);
}

/** Every Node: name, Ready status, its last heartbeat, kubeletVersion - tab separated. */
export function nodeStates(paths: Rke2Paths): ShellFragment {
  return kubectl(
    paths,
    sh`get nodes -o ${'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.conditions[?(@.type=="Ready")].status}{"\\t"}{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\\t"}{.status.nodeInfo.kubeletVersion}{"\\n"}{end}'}`,
    10,
  );
}

/** etcd static pods: node and Ready. */
export function etcdPods(paths: Rke2Paths): ShellFragment {
  return kubectl(
    paths,
    sh`-n kube-system get pods -l component=etcd -o ${'jsonpath={range .items[*]}{.spec.nodeName}{"\\t"}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'}`,
    10,
  );
}

export interface NodeState {
  name: string;
  ready: boolean;
  /** Epoch seconds of the Ready condition's heartbeat (0 when unknown). */
  heartbeat: number;
  version: string;
}

export function parseNodeStates(stdout: string): Map<string, NodeState> {
  const out = new Map<string, NodeState>();
  for (const line of stdout.split('\n')) {
    const [name, ready, hb, version] = line.split('\t');
    if (!name) continue;
    const t = Date.parse(hb ?? '');
    out.set(name, {
      name,
      ready: ready === 'True',
      heartbeat: Number.isFinite(t) ? Math.floor(t / 1000) : 0,
      version: version ?? '',
    });
  }
  return out;
}

export function parseEtcdPods(stdout: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of stdout.split('\n')) {
    const [node, ready] = line.split('\t');
    if (node) out.set(node, ready === 'True');
  }
  return out;
}
