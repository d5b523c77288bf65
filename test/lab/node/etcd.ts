/**
 * SIMULATION of RKE2's embedded etcd management (rke2-facts.md §2, §3.1, §9.1), driving a REAL
 * etcd 3.6 member per master. RKE2 runs etcd as a static pod with TLS and data in
 * ${data-dir}/server/db/etcd; the lab runs the same member as a plain process on the node's
 * loopback address (plain HTTP: lab-only), with its data at the same path.
 */
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  type NodeSimConfig,
  type RkeConfig,
  dataDir,
  nodeName,
  run,
  daemon,
  running,
  readPid,
  killPid,
  waitGone,
  waitFor,
  sleep,
  log,
  fatal,
  ensureDir,
} from './common.js';

export const clientUrl = (address: string) => `http://${address}:2379`;
export const peerUrl = (address: string) => `http://${address}:2380`;

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

export function healthy(node: NodeSimConfig, address: string): boolean {
  const r = etcdctl(node, clientUrl(address), ['endpoint', 'health'], 8000);
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

/**
 * Starts the local member. With existing data etcd ignores the initial-cluster flags and
 * rejoins the membership stored in its data - which is why a peer with an old server/db does
 * not rejoin a reset cluster (its cluster no longer exists, rke2-facts.md §9.1).
 */
export async function startMember(node: NodeSimConfig, cfg: RkeConfig, deadline: number): Promise<void> {
  if (running('etcd')) return;
  const initial = node.index === 0 && !cfgServer(cfg);
  ensureDir(dbDir(cfg));
  if (hasMemberData(cfg)) {
    const name = memberName(cfg, node, true);
    daemon('etcd', node.tools.etcd, baseFlags(node, cfg, name));
    return;
  }
  if (initial) {
    const name = memberName(cfg, node, true);
    daemon('etcd', node.tools.etcd, [
      ...baseFlags(node, cfg, name),
      `--initial-cluster=${name}=${peerUrl(node.address)}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${node.lab}-${Date.now()}`,
    ]);
    return;
  }
  // Joining server with an empty db: `member add` through the server in config.yaml, retried
  // while the cluster is unhealthy (a previous join is still settling).
  const server = cfgServer(cfg);
  const joinAddress = server ? new URL(server).hostname : node.masters[0]!.address;
  const name = memberName(cfg, node, true);
  let initialCluster: string;
  for (;;) {
    // A stale entry for this peer URL (an earlier failed join) must go first.
    removeStaleMember(node, joinAddress);
    const r = etcdctl(node, clientUrl(joinAddress), [
      'member',
      'add',
      name,
      `--peer-urls=${peerUrl(node.address)}`,
    ]);
    if (r.status === 0) {
      const m = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(r.stdout);
      initialCluster = m?.[1] ?? '';
      break;
    }
    if (Date.now() > deadline) {
      rmSync(`${dbDir(cfg)}/name`, { force: true });
      fatal(
        `starting kubernetes: preparing server: failed to join etcd cluster via ${joinAddress}: ${(r.stderr || r.stdout).trim()}`,
      );
    }
    log.info(
      `Waiting for etcd cluster to accept a new member: ${(r.stderr || '').trim().split('\n')[0] ?? ''}`,
    );
    await sleep(1000);
  }
  daemon('etcd', node.tools.etcd, [
    ...baseFlags(node, cfg, name),
    `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=existing',
  ]);
}

function removeStaleMember(node: NodeSimConfig, joinAddress: string): void {
  const list = etcdctl(node, clientUrl(joinAddress), ['member', 'list', '-w', 'json']);
  if (list.status !== 0) return;
  try {
    const parsed = JSON.parse(list.stdout) as { members?: { ID: number | string; peerURLs?: string[] }[] };
    for (const m of parsed.members ?? []) {
      if ((m.peerURLs ?? []).includes(peerUrl(node.address))) {
        // IDs are uint64: etcdctl prints them as numbers that lose precision in JSON.parse.
        const hexId = memberIdHex(list.stdout, m);
        if (hexId) etcdctl(node, clientUrl(joinAddress), ['member', 'remove', hexId]);
      }
    }
  } catch {
    // best effort: the add below reports the real error
  }
}

function memberIdHex(raw: string, m: { peerURLs?: string[] }): string | null {
  // Take the exact digits from the raw JSON text preceding this member's peer URL.
  const url = (m.peerURLs ?? [])[0];
  if (!url) return null;
  const re = new RegExp(`"ID":(\\d+)[^}]*?"peerURLs":\\["${url.replace(/[.]/g, '\\.')}"`);
  const mm = re.exec(raw);
  return mm?.[1] ? BigInt(mm[1]).toString(16) : null;
}

export async function waitHealthy(node: NodeSimConfig, deadline: number): Promise<boolean> {
  return waitFor(
    () => running('etcd') && healthy(node, node.address),
    Math.max(0, deadline - Date.now()),
    300,
  );
}

export async function stopMember(): Promise<void> {
  const pid = readPid('etcd');
  killPid('etcd', 'SIGKILL');
  await waitGone(pid);
}

export function cfgServer(cfg: RkeConfig): string {
  const v = cfg['server'];
  return typeof v === 'string' ? v : '';
}
