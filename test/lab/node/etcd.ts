/**
 * SIMULATION of RKE2's embedded etcd management (rke2-facts.md §2, §3.1, §9.1), driving a REAL
 * etcd 3.6 member per master. RKE2 runs etcd as a static pod with TLS and data in
 * ${data-dir}/server/db/etcd; the lab runs the same member as a plain process on the node's
 * loopback address (plain HTTP: lab-only), with its data at the same path.
 *
 * Joining follows K3s (k3s-io/k3s pkg/etcd/etcd.go join()): the member is added as a LEARNER
 * (`MemberAddAsLearner`) through the server it joins; an unstarted entry with this node's peer
 * URL is reused; a member of the same node name with another member name is refused ("duplicate
 * node name found"). etcd itself allows one learner at a time (--max-learners=1), so two
 * servers joining at once: the second one's add fails. The leader promotes a learner once it
 * caught up (K3s manageLearners); the lab promotes it from the joining server after
 * timing.learnerPromotionDelaySec.
 *
 * Data version: the release table names each RKE2 release's etcd version. The etcd data carries
 * the newest etcd minor that ran on it (lab key `/lab.rke2-ops.io/etcd-data-version`, so it
 * travels with snapshots and restores as etcd's own cluster/storage version does). An older etcd
 * started on newer data fails like etcd's MustDetectDowngrade (etcd-io/etcd
 * server/etcdserver/version/downgrade.go): "invalid downgrade; server version is lower than
 * determined cluster version" - the etcd static pod crash-loops and RKE2 waits forever.
 */
import { existsSync, readFileSync, writeFileSync, rmSync, appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  type NodeSimConfig,
  type RkeConfig,
  type Journal,
  RUN_DIR,
  dataDir,
  nodeName,
  run,
  daemon,
  running,
  readPid,
  killPid,
  waitGone,
  ensureDir,
} from './common.js';

export const clientUrl = (address: string) => `http://${address}:2379`;
export const peerUrl = (address: string) => `http://${address}:2380`;
export const DATA_VERSION_KEY = '/lab.rke2-ops.io/etcd-data-version';

export function dbDir(cfg: RkeConfig): string {
  return `${dataDir(cfg)}/server/db`;
}
export function etcdDir(cfg: RkeConfig): string {
  return `${dbDir(cfg)}/etcd`;
}
export function hasMemberData(cfg: RkeConfig): boolean {
  return existsSync(`${etcdDir(cfg)}/member`);
}

/** RKE2 names members `<node-name>-<8 hex>`; kept in server/db/name so it moves with the db. */
export function memberName(cfg: RkeConfig, node: NodeSimConfig, create: boolean): string {
  const file = `${dbDir(cfg)}/name`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const name = `${nodeName(cfg, node)}-${randomBytes(4).toString('hex')}`;
  if (create) {
    ensureDir(dbDir(cfg));
    writeFileSync(file, `${name}\n`);
  }
  return name;
}

export function etcdctl(node: NodeSimConfig, endpoint: string, args: string[], timeoutMs = 15_000) {
  return run(
    node.tools.etcdctl,
    [`--endpoints=${endpoint}`, '--dial-timeout=2s', '--command-timeout=5s', ...args],
    {
      timeoutMs,
    },
  );
}

/** etcdctl's last error line without its `Error: ` prefix (what the Go client returns). */
function etcdctlError(output: string, fallback: string): string {
  return (output.trim().split('\n').pop() ?? fallback).replace(/^Error: /, '') || fallback;
}

/** `etcdctl endpoint health` - a learner does not serve it (not a voting member yet). */
export function healthy(node: NodeSimConfig, address: string): boolean {
  const r = etcdctl(node, clientUrl(address), ['endpoint', 'health', '--command-timeout=2s'], 8000);
  return r.status === 0;
}

/** Something listens on this node's etcd peer port: etcd still runs here. */
export function etcdRunning(): boolean {
  return running('etcd');
}

function baseFlags(node: NodeSimConfig, cfg: RkeConfig, name: string): string[] {
  return [
    `--name=${name}`,
    `--data-dir=${etcdDir(cfg)}`,
    `--listen-client-urls=${clientUrl(node.address)}`,
    `--advertise-client-urls=${clientUrl(node.address)}`,
    `--listen-peer-urls=${peerUrl(node.address)}`,
    `--initial-advertise-peer-urls=${peerUrl(node.address)}`,
    '--log-level=warn',
  ];
}

export function cfgServer(cfg: RkeConfig): string {
  const v = cfg['server'];
  return typeof v === 'string' ? v : '';
}

/**
 * Starts the local member from its data, or as a new cluster on the initial server. With
 * existing data etcd ignores the initial-cluster flags and rejoins the membership stored in its
 * data - which is why a peer with an old server/db does not rejoin a reset cluster (its cluster
 * no longer exists, rke2-facts.md §9.1).
 */
export async function startMember(node: NodeSimConfig, cfg: RkeConfig): Promise<void> {
  if (running('etcd')) return;
  ensureDir(dbDir(cfg));
  if (hasMemberData(cfg)) {
    daemon('etcd', node.tools.etcd, baseFlags(node, cfg, memberName(cfg, node, true)));
    return;
  }
  if (node.index === 0 && !cfgServer(cfg)) {
    const name = memberName(cfg, node, true);
    daemon('etcd', node.tools.etcd, [
      ...baseFlags(node, cfg, name),
      `--initial-cluster=${name}=${peerUrl(node.address)}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${node.lab}-${Date.now()}`,
    ]);
  }
  // A joining member without data is started by joinCluster (it needs the member list).
}

export interface Member {
  id: string;
  status: string;
  name: string;
  peerUrls: string[];
  isLearner: boolean;
}

/** `etcdctl member list -w simple` (hex IDs, no uint64 precision trouble). */
export function memberList(node: NodeSimConfig, endpoints: string[]): Member[] | { error: string } {
  const r = etcdctl(node, endpoints.join(','), ['member', 'list', '-w', 'simple']);
  if (r.status !== 0)
    return { error: (r.stderr || r.stdout).trim().split('\n').pop() ?? 'member list failed' };
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(', ');
      return {
        id: f[0] ?? '',
        status: f[1] ?? '',
        name: f[2] ?? '',
        peerUrls: (f[3] ?? '').split(',').filter(Boolean),
        isLearner: f[5] === 'true',
      };
    });
}

/** Client URLs of the other masters (a learner does not answer cluster-wide requests itself). */
function otherEndpoints(node: NodeSimConfig): string[] {
  return node.masters.filter((m) => m.address !== node.address).map((m) => clientUrl(m.address));
}

/**
 * Joins the cluster through `joinAddress` as K3s join() does. Throws with etcd's own error
 * (e.g. "etcdserver: too many learner members in cluster"); the caller makes it fatal.
 */
export async function joinCluster(
  node: NodeSimConfig,
  cfg: RkeConfig,
  joinAddress: string,
  j: Journal,
): Promise<void> {
  const name = memberName(cfg, node, true);
  const me = peerUrl(node.address);
  const list = memberList(node, [clientUrl(joinAddress)]);
  if ('error' in list) throw new Error(list.error);
  let add = true;
  const cluster: string[] = [];
  for (const m of list) {
    const atMyAddress = m.peerUrls.some((u) => new URL(u).hostname === node.address);
    // An uninitialized joining member has no name: with our address it must be us.
    const memberName_ = m.name === '' && atMyAddress ? name : m.name;
    if (memberName_ === name && atMyAddress) add = false;
    if (memberName_ && m.peerUrls[0]) cluster.push(`${memberName_}=${m.peerUrls[0]}`);
    const lastHyphen = memberName_.lastIndexOf('-');
    const memberNode = lastHyphen > 1 ? memberName_.slice(0, lastHyphen) : memberName_;
    if (memberName_ !== name && memberNode === nodeName(cfg, node)) {
      rmSync(`${dbDir(cfg)}/name`, { force: true });
      throw new Error('duplicate node name found, please use a unique name for this node');
    }
  }
  if (add) {
    j.info(`Adding member ${name}=${me} to etcd cluster [${cluster.join(' ')}]`);
    const r = etcdctl(node, clientUrl(joinAddress), [
      'member',
      'add',
      name,
      `--peer-urls=${me}`,
      '--learner',
    ]);
    if (r.status !== 0) throw new Error(etcdctlError(r.stderr || r.stdout, 'member add failed'));
    cluster.push(`${name}=${me}`);
  }
  j.info(`Starting etcd to join cluster with members [${cluster.join(' ')}]`);
  daemon('etcd', node.tools.etcd, [
    ...baseFlags(node, cfg, name),
    `--initial-cluster=${cluster.join(',')}`,
    '--initial-cluster-state=existing',
  ]);
}

/** This member's role as the rest of the cluster sees it. */
export function memberStatus(node: NodeSimConfig, cfg: RkeConfig): 'voter' | 'learner' | 'unknown' {
  const others = otherEndpoints(node);
  if (others.length === 0) return 'unknown';
  const list = memberList(node, others);
  if ('error' in list) return 'unknown';
  const me = list.find((m) => m.peerUrls.includes(peerUrl(node.address)));
  void cfg;
  if (!me) return 'unknown';
  return me.isLearner ? 'learner' : 'voter';
}

/** What the leader's manageLearners does once the learner caught up. */
export function promoteLearner(node: NodeSimConfig, cfg: RkeConfig, j: Journal): boolean {
  const list = memberList(node, otherEndpoints(node));
  if ('error' in list) return false;
  const me = list.find((m) => m.peerUrls.includes(peerUrl(node.address)));
  if (!me?.isLearner) return false;
  const r = etcdctl(node, otherEndpoints(node).join(','), ['member', 'promote', me.id]);
  if (r.status === 0) {
    j.info(`Promoted learner ${memberName(cfg, node, false)}`);
    return true;
  }
  return false;
}

/** `v3.6.16` -> `3.6`. */
export function etcdMinor(version: string | undefined): string | null {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  return m ? `${m[1]}.${m[2]}` : null;
}

function minorLess(a: string, b: string): boolean {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

function markerPath(cfg: RkeConfig): string {
  return `${etcdDir(cfg)}/lab-invalid-downgrade.json`;
}

/**
 * The etcd data on this node was found newer than the installed release's etcd: the member
 * cannot start until a newer release is installed (or the data is replaced by a restore).
 */
export function downgradeBlocked(cfg: RkeConfig, binary: string | null, j: Journal | null): boolean {
  if (!existsSync(markerPath(cfg))) return false;
  const marker = JSON.parse(readFileSync(markerPath(cfg), 'utf8')) as { data: string };
  if (binary === null || !minorLess(binary, marker.data)) {
    rmSync(markerPath(cfg), { force: true });
    j?.info(`etcd ${binary ?? '?'} accepts data version ${marker.data}`);
    return false;
  }
  return true;
}

/**
 * Checks (and records) the data version once the member is healthy. `downgrade`: the real etcd
 * would have refused to start - the lab kills it, logs etcd's fatal line and blocks restarts.
 */
export function checkDataVersion(
  node: NodeSimConfig,
  cfg: RkeConfig,
  binary: string | null,
  j: Journal,
): 'ok' | 'retry' | 'downgrade' {
  if (binary === null) return 'ok';
  const endpoint = clientUrl(node.address);
  const r = etcdctl(node, endpoint, ['get', DATA_VERSION_KEY, '--print-value-only']);
  if (r.status !== 0) return 'retry';
  const data = r.stdout.trim();
  if (data && minorLess(binary, data)) {
    writeFileSync(markerPath(cfg), JSON.stringify({ data, server: binary }));
    ensureDir(RUN_DIR);
    appendFileSync(
      `${RUN_DIR}/etcd.log`,
      `${JSON.stringify({
        level: 'fatal',
        ts: new Date().toISOString(),
        caller: 'version/downgrade.go:52',
        msg: 'invalid downgrade; server version is lower than determined cluster version',
        'current-server-version': binary,
        'determined-cluster-version': data,
      })}\n`,
    );
    j.error(
      `etcd exited: invalid downgrade; server version is lower than determined cluster version (current-server-version ${binary}, determined-cluster-version ${data})`,
    );
    const pid = readPid('etcd');
    killPid('etcd', 'SIGKILL');
    void waitGone(pid);
    return 'downgrade';
  }
  if (!data || minorLess(data, binary)) {
    const w = etcdctl(node, endpoint, ['put', DATA_VERSION_KEY, binary]);
    if (w.status !== 0) return 'retry';
  }
  return 'ok';
}

export async function stopMember(): Promise<void> {
  const pid = readPid('etcd');
  killPid('etcd', 'SIGKILL');
  await waitGone(pid);
}
