/**
 * SIMULATION of the rke2-server / rke2-agent systemd units and rke2-killall.sh
 * (rke2-facts.md §2.1, §2.3, §2.8, §3.1, §9.1, §9.7):
 *  - `systemctl start rke2-server` starts (or joins) the local REAL etcd member and a REAL
 *    kube-apiserver on it, deletes server/db/reset-flag, then registers the Node and its static
 *    mirror pods; it waits for them like `systemctl start` waits for RKE2's READY notification,
 *    and reports the unit failed after `startTimeoutSec` (e.g. a peer whose etcd belongs to a
 *    cluster that no longer exists).
 *  - `systemctl stop` kills only the rke2 main process (KillMode=process): etcd and the API
 *    server ("static pods") keep running. The node goes Ready=Unknown (kubelet stopped).
 *  - `rke2-killall.sh` kills everything: rke2, kube-apiserver, etcd.
 * The unit's main process is a placeholder (`rke2 server`/`rke2 agent` argv0 on sleep): the lab
 * does its work synchronously during start, there is no long-running supervisor to simulate.
 */
import { existsSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import {
  type NodeSimConfig,
  type RkeConfig,
  RUN_DIR,
  cfgString,
  dataDir,
  daemon,
  running,
  readPid,
  killPid,
  waitGone,
  waitFor,
  log,
  fatal,
  ensureDir,
  installedVersion,
} from './common.js';
import { startMember, waitHealthy, stopMember, dbDir } from './etcd.js';
import { syncNode, markNotReady } from './kubelet.js';
import { KubeClient, authFromFiles } from '../kube-client.js';

export type Unit = 'rke2-server' | 'rke2-agent';

export function unitFor(node: NodeSimConfig): Unit {
  return node.role === 'master' ? 'rke2-server' : 'rke2-agent';
}

function stateFile(unit: Unit): string {
  return `${RUN_DIR}/${unit}.state`;
}

export function unitState(unit: Unit): 'active' | 'failed' | 'inactive' | 'activating' {
  if (running(unit)) return 'active';
  try {
    const s = readFileSync(stateFile(unit), 'utf8').trim();
    if (s === 'failed' || s === 'activating') return s;
  } catch {
    // no state file: never started
  }
  return 'inactive';
}

function setState(unit: Unit, state: string): void {
  ensureDir(RUN_DIR);
  writeFileSync(stateFile(unit), `${state}\n`);
}

/**
 * The real kube-apiserver's flags. `kube-apiserver-arg` entries of config.yaml are passed on as
 * RKE2 does (e.g. the module's `authentication-config=...` for anonymous /readyz); with an
 * authentication config, anonymous access is configured there, not by flag.
 */
function apiserverArgs(node: NodeSimConfig, cfg: RkeConfig): string[] {
  const extra = (
    Array.isArray(cfg['kube-apiserver-arg']) ? (cfg['kube-apiserver-arg'] as unknown[]) : []
  ).map((a) => `--${String(a).replace(/^--/, '')}`);
  const hasAuthConfig = extra.some((a) => a.startsWith('--authentication-config='));
  const base = [
    `--advertise-address=${node.address}`,
    `--bind-address=${node.address}`,
    '--secure-port=6443',
    `--etcd-servers=http://${node.address}:2379`,
    `--tls-cert-file=${node.pki.serverCert}`,
    `--tls-private-key-file=${node.pki.serverKey}`,
    `--client-ca-file=${node.pki.caCert}`,
    `--service-account-key-file=${node.pki.saPub}`,
    `--service-account-signing-key-file=${node.pki.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--api-audiences=https://kubernetes.default.svc.cluster.local,rke2',
    '--service-cluster-ip-range=10.43.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--anonymous-auth=true',
    '--allow-privileged=true',
    // No controller-manager creates service accounts in the lab: pods must not need one.
    '--disable-admission-plugins=ServiceAccount',
    // Reads go to etcd (no watch cache), so what the API reports is what etcd holds - also
    // right after a restore. APF off: fewer moving parts on a 2-core machine.
    '--watch-cache=false',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--event-ttl=1h',
    '--v=0',
  ];
  return [...base.filter((a) => !(hasAuthConfig && a.startsWith('--anonymous-auth'))), ...extra];
}

async function apiReady(node: NodeSimConfig): Promise<boolean> {
  const kube = new KubeClient(
    [`https://${node.address}:6443`],
    authFromFiles(node.pki.caCert, node.pki.adminCert, node.pki.adminKey),
    2000,
  );
  return kube.ready();
}

async function ensureApiserver(node: NodeSimConfig, cfg: RkeConfig, deadline: number): Promise<boolean> {
  // The static pod manifest RKE2 writes: the version's image and the flags from the config.
  const args = apiserverArgs(node, cfg);
  const manifest = `${installedVersion()} ${createHash('sha256').update(args.join('\n')).digest('hex')}`;
  const manifestFile = `${RUN_DIR}/kube-apiserver.version`;
  if (running('kube-apiserver')) {
    const started = existsSync(manifestFile) ? readFileSync(manifestFile, 'utf8').trim() : '';
    if (started === manifest) return waitFor(() => apiReady(node), Math.max(0, deadline - Date.now()), 300);
    // A new RKE2 version or changed kube-apiserver-arg means a new static pod manifest: the
    // kubelet replaces the pod.
    const pid = readPid('kube-apiserver');
    killPid('kube-apiserver', 'SIGKILL');
    await waitGone(pid);
  }
  daemon('kube-apiserver', node.tools.kubeApiserver, args);
  writeFileSync(manifestFile, `${manifest}\n`);
  return waitFor(() => apiReady(node), Math.max(0, deadline - Date.now()), 300);
}

/** RKE2 writes the cluster token to server/token on every server (rke2-facts.md §2.5). */
function ensureToken(node: NodeSimConfig, cfg: RkeConfig): void {
  const file = `${dataDir(cfg)}/server/token`;
  if (existsSync(file)) return;
  ensureDir(`${dataDir(cfg)}/server`);
  let token = cfgString(cfg, 'token');
  if (!token) token = randomBytes(16).toString('hex');
  if (!token.startsWith('K10')) {
    const hash = createHash('sha256').update(node.lab).digest('hex');
    token = `K10${hash}::server:${token}`;
  }
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
}

/** The secret part of an RKE2 token (`K10<ca hash>::<user>:<secret>` or a bare secret). */
function tokenSecret(token: string): string {
  const m = /^K10[0-9a-f]*::[^:]+:(.*)$/.exec(token.trim());
  return m?.[1] ?? token.trim();
}

/**
 * A node joining through `server:` must present the cluster's token (rke2-facts.md §2.5): the
 * real supervisor refuses a wrong one. The lab reads the cluster token from the initial master's
 * server/token (the one node-to-node peek of the simulation) and compares the secret parts.
 */
function checkJoinToken(node: NodeSimConfig, cfg: RkeConfig, unit: Unit): void {
  const server = cfgString(cfg, 'server');
  if (!server) return;
  const m0 = node.masters[0];
  if (!m0 || m0.name === node.name) return;
  const file = `${node.labDir}/nodes/${m0.name}/var-lib-rancher/rke2/server/token`;
  if (!existsSync(file)) return; // master-0 never started: the join fails later on its own
  const mine = cfgString(cfg, 'token') || process.env.RKE2_TOKEN || '';
  if (tokenSecret(mine) !== tokenSecret(readFileSync(file, 'utf8'))) {
    setState(unit, 'failed');
    fatal(`Failed to validate connection to cluster at ${server}: token is not valid`);
  }
}

function placeholder(unit: Unit): void {
  daemon(unit, '/bin/sleep', ['infinity'], unit === 'rke2-server' ? 'rke2 server' : 'rke2 agent');
}

export async function start(node: NodeSimConfig, cfg: RkeConfig, unit: Unit): Promise<void> {
  if (unit !== unitFor(node)) fatal(`Failed to start ${unit}.service: Unit ${unit}.service not found.`);
  if (running(unit)) return;
  setState(unit, 'activating');
  const timeoutSec = Number(process.env.RKE2_LAB_START_TIMEOUT ?? node.startTimeoutSec);
  const deadline = Date.now() + timeoutSec * 1000;
  try {
    checkJoinToken(node, cfg, unit);
    if (node.role === 'master') {
      // Normal start deletes the reset flag (rke2-facts.md §2.3).
      rmSync(`${dbDir(cfg)}/reset-flag`, { force: true });
      await startMember(node, cfg, deadline);
      if (!(await waitHealthy(node, deadline))) {
        fail(
          unit,
          'etcd did not become healthy: this member cannot reach a quorum of its cluster (see /var/lib/rancher/rke2/lab/run/etcd.log)',
        );
      }
      ensureToken(node, cfg);
      if (!(await ensureApiserver(node, cfg, deadline))) fail(unit, 'kube-apiserver did not become ready');
    }
    const synced = await waitFor(
      async () => {
        try {
          await syncNode(node, cfg, true);
          return true;
        } catch (error) {
          log.info(`Waiting for API server to register node: ${(error as Error).message}`);
          return false;
        }
      },
      Math.max(0, deadline - Date.now()),
      1000,
    );
    if (!synced) fail(unit, 'could not register the node with the API server');
    placeholder(unit);
    setState(unit, 'active');
  } catch (error) {
    if (unitState(unit) !== 'failed') setState(unit, 'failed');
    throw error;
  }
}

function fail(unit: Unit, why: string): never {
  setState(unit, 'failed');
  log.error(why);
  fatal(
    `Job for ${unit}.service failed because a timeout was exceeded.\nSee "systemctl status ${unit}.service" and "journalctl -xeu ${unit}.service" for details.`,
  );
}

export async function stop(node: NodeSimConfig, cfg: RkeConfig, unit: Unit): Promise<void> {
  if (unit !== unitFor(node)) fatal(`Failed to stop ${unit}.service: Unit ${unit}.service not loaded.`);
  const pid = readPid(unit);
  killPid(unit, 'SIGTERM');
  await waitGone(pid);
  setState(unit, 'inactive');
  // KillMode=process: etcd and kube-apiserver keep running. The kubelet is gone, so the node
  // stops posting status.
  await markNotReady(node, cfg);
}

export async function killall(node: NodeSimConfig, cfg: RkeConfig): Promise<void> {
  await markNotReady(node, cfg);
  const names = ['rke2-server', 'rke2-agent', 'kube-apiserver'];
  const pids = names.map((n) => readPid(n));
  for (const n of names) killPid(n, 'SIGKILL');
  for (const p of pids) await waitGone(p);
  await stopMember();
  for (const unit of ['rke2-server', 'rke2-agent'] as const) {
    if (existsSync(stateFile(unit))) setState(unit, 'inactive');
  }
}

export function status(unit: Unit): string {
  const state = unitState(unit);
  const sub = state === 'active' ? 'running' : state === 'failed' ? 'failed' : 'dead';
  return `● ${unit}.service - Rancher Kubernetes Engine v2 (${unit === 'rke2-server' ? 'server' : 'agent'})\n     Loaded: loaded (/usr/local/lib/systemd/system/${unit}.service; enabled)\n     Active: ${state} (${sub})\n`;
}
