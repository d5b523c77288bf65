/** Shared helpers of the lab self-tests: real SSH (src/ssh) and real kubectl/etcdctl on the nodes. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bashScript, sh } from '../../src/lib/quote.js';
import type { Lab } from './lab.js';
import type { LabShell } from './shell.js';

export const KUBECTL = '/var/lib/rancher/rke2/bin/kubectl';
export const ETCDCTL = '/var/lib/rancher/rke2/bin/etcdctl';
export const KUBECONFIG = '/etc/rancher/rke2/rke2.yaml';

/** Node-side kubectl with the node's rke2.yaml, as an operator on a master runs it. */
export async function kubectl(shell: LabShell, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await shell.run([KUBECTL, `--kubeconfig=${KUBECONFIG}`, ...args], timeoutMs);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function kubectlJson<T = { items: Record<string, unknown>[] }>(
  shell: LabShell,
  args: string[],
): Promise<T> {
  return JSON.parse(await kubectl(shell, [...args, '-o', 'json'])) as T;
}

export function nodeAddress(lab: Lab, name: string): string {
  return lab.state.nodes.find((n) => n.name === name)!.address;
}

export interface EtcdKv {
  key: string;
  value: string;
}

/** Every key of a member (etcdctl get "" --prefix -w json), keys and values base64-decoded. */
export async function etcdDump(shell: LabShell, address: string): Promise<EtcdKv[]> {
  const r = await shell.exec(
    bashScript([sh`${ETCDCTL} --endpoints=${`http://${address}:2379`} get "" --prefix -w json`]),
    120_000,
  );
  if (r.code !== 0) throw new Error(`etcdctl get on ${address}: ${r.stderr}`);
  return parseDump(r.stdout);
}

export function parseDump(text: string): EtcdKv[] {
  const parsed = JSON.parse(text) as { kvs?: { key: string; value: string }[] };
  return (parsed.kvs ?? []).map((kv) => ({
    key: Buffer.from(kv.key, 'base64').toString('latin1'),
    value: Buffer.from(kv.value ?? '', 'base64').toString('latin1'),
  }));
}

/**
 * Keys that legitimately change after a restore, excluded from "the key space equals the
 * snapshot's": leases (node heartbeats, leader election, apiserver identity) and events
 * (recorded as things happen), and the API server endpoint lease/reconciler keys, which
 * track the masters that are up right now; `compact_rev_key` is the API server's compaction
 * bookkeeping; `/lab.rke2-ops.io/` is the lab's etcd data version (node/etcd.ts), which a newer
 * release bumps like etcd bumps its cluster version.
 */
export const VOLATILE_KEY =
  /^compact_rev_key$|^\/registry\/(leases|events|masterleases)\/|^\/registry\/services\/endpoints\/default\/kubernetes$|^\/registry\/endpointslices\/default\/kubernetes$|^\/lab\.rke2-ops\.io\//;
/**
 * Keys whose *values* controllers rewrite after a restore, exactly as real ones do: Node and pod
 * status (the kubelets), the BackupStorageLocation's status (Velero validates it every minute).
 * Compared by key, not by value. (Not covered: Backup objects that Velero's backup sync brings
 * back from the bucket after a restore - real additions a comparison must expect.)
 */
export const STATUS_KEY = /^\/registry\/(minions|pods|velero\.io\/backupstoragelocations)\//;

export function comparable(kvs: EtcdKv[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of kvs) {
    if (VOLATILE_KEY.test(kv.key)) continue;
    m.set(kv.key, STATUS_KEY.test(kv.key) ? '<status rewritten by kubelet>' : kv.value);
  }
  return m;
}

/** Differences between two comparable key spaces (empty = equal). */
export function diffKeyspace(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    if (!b.has(k)) out.push(`- ${k}`);
    else if (b.get(k) !== v) out.push(`~ ${k}`);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(`+ ${k}`);
  return out;
}

/** Host-side: the key space inside a snapshot file, read from a throwaway etcd restored from it. */
export async function snapshotKeyspace(
  tools: { etcdutl: string; etcd: string; etcdctl: string },
  snapshotFile: string,
  workDir: string,
): Promise<EtcdKv[]> {
  const port = 23000 + Math.floor(Math.random() * 1000);
  const peer = `http://127.0.0.1:${port + 1000}`;
  execFileSync(
    tools.etcdutl,
    [
      'snapshot',
      'restore',
      snapshotFile,
      `--data-dir=${workDir}/data`,
      '--name=verify',
      `--initial-cluster=verify=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
    ],
    { stdio: 'pipe' },
  );
  const child = spawn(
    tools.etcd,
    [
      `--data-dir=${workDir}/data`,
      '--name=verify',
      `--listen-client-urls=http://127.0.0.1:${port}`,
      `--advertise-client-urls=http://127.0.0.1:${port}`,
      `--listen-peer-urls=${peer}`,
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (let i = 0; ; i++) {
      try {
        const out = execFileSync(
          tools.etcdctl,
          [`--endpoints=http://127.0.0.1:${port}`, 'get', '', '--prefix', '-w', 'json'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 },
        );
        return parseDump(out);
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill('SIGKILL');
  }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
