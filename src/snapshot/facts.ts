import { sh } from '../lib/quote.js';
import { inertText } from '../lib/inert.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { RemoteShell } from '../ssh/types.js';
import { runBatch, type BatchResult, type Step } from '../rke2/batch.js';
import { kubectl, readFileIfExists, rke2Version, tokenDigest, unitState } from '../rke2/commands.js';
import { parseRke2Version } from '../rke2/parse.js';
import type { Rke2Paths } from '../rke2/paths.js';
import { getSchedule, getStorageLocations } from '../velero/backup.js';
import type { KubeObject } from '../velero/types.js';
import type { ObjectCounts } from './metadata.js';
import { fail } from './run-state.js';
import type { SnapshotFacts } from './types.js';

/**
 * The preflight of a save, ONE exec on the master (the reads run concurrently): is rke2-server
 * active (every `etcd-snapshot` subcommand needs it, rke2-facts.md §1.4), `rke2 --version`, the
 * token digest, every Node's RKE2 version, the object counts a trial restore compares, the etcd
 * image (its minor is the data version), the current pre-upgrade marker and, with Velero on,
 * the Schedule and BackupStorageLocations.
 */
export const COUNTED = { nodes: 'node', namespaces: 'namespace', secrets: 'secret' } as const;
/** etcd key prefixes of the counted kinds (RKE2 keeps the default `/registry` prefix). */
export const COUNTED_PREFIXES: Record<keyof ObjectCounts, string> = {
  nodes: '/registry/minions/',
  namespaces: '/registry/namespaces/',
  secrets: '/registry/secrets/',
};

/** `kubectl get nodes,namespaces,secrets -A -o name`, counted per kind on the node (awk). */
export function countObjectsStep(paths: Rke2Paths, key = 'objects'): Step {
  return {
    key,
    command: sh`${kubectl(paths, sh`get nodes,namespaces,secrets -A -o name`)} | awk -F/ '{c[$1]++} END {for (k in c) print k, c[k]}'`,
  };
}

export function parseCounts(stdout: string): ObjectCounts {
  const got: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const [kind, n] = line.trim().split(/\s+/);
    if (kind && n && /^\d+$/.test(n)) got[kind] = Number(n);
  }
  return { nodes: got['node'] ?? 0, namespaces: got['namespace'] ?? 0, secrets: got['secret'] ?? 0 };
}

export interface PreflightResult {
  facts: SnapshotFacts;
  velero: { schedule: KubeObject; locations: KubeObject[] } | { error: string } | null;
}

export async function preflight(
  shell: RemoteShell,
  opts: {
    paths: Rke2Paths;
    velero: { namespace: string; schedule: string } | null;
    timeoutMs: number;
    secrets?: SecretRegistry;
  },
): Promise<PreflightResult> {
  const node = shell.target.name;
  const { paths } = opts;
  const steps: Step[] = [
    { key: 'unit', command: unitState('rke2-server') },
    { key: 'version', command: rke2Version() },
    { key: 'token', command: tokenDigest(paths) },
    {
      key: 'nodes',
      command: kubectl(
        paths,
        sh`get nodes -o ${'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.nodeInfo.kubeletVersion}{"\\n"}{end}'}`,
      ),
    },
    countObjectsStep(paths),
    {
      key: 'etcd',
      command: kubectl(
        paths,
        sh`-n kube-system get pods -l component=etcd -o ${'jsonpath={range .items[*]}{.spec.nodeName}{"\\t"}{.spec.containers[0].image}{"\\n"}{end}'}`,
      ),
    },
    { key: 'marker', command: readFileIfExists(paths.lastPreUpgradeMarker) },
    ...(opts.velero
      ? [
          { key: 'schedule', command: getSchedule(paths, opts.velero.namespace, opts.velero.schedule) },
          { key: 'bsls', command: getStorageLocations(paths, opts.velero.namespace) },
        ]
      : []),
  ];
  const r: BatchResult = await runBatch(shell, steps, {
    concurrent: true,
    timeoutMs: opts.timeoutMs,
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
  });
  const err = (k: string) => inertText(r[k]!.stderr.trim() || `exit ${r[k]!.code}`, 500);

  const unit = r.unit!.stdout.trim();
  if (unit !== 'active')
    fail(
      'preflight',
      node,
      `rke2-server is ${unit || 'unknown'} on ${node}: rke2 etcd-snapshot needs a running server (it asks the local supervisor on :9345)`,
      `start it (systemctl start rke2-server) and wait until it is active, or name another master with \`master\``,
    );
  if (r.token!.code !== 0 || !/^[0-9a-f]{64}$/.test(r.token!.stdout.trim()))
    fail(
      'preflight',
      node,
      `cannot read ${paths.token}: ${err('token')}`,
      'check rke2.data_dir in the inventory and that the SSH user can read it',
    );
  if (r.nodes!.code !== 0)
    fail(
      'preflight',
      node,
      `the Kubernetes API does not answer on ${node}: ${err('nodes')}`,
      'check the API server (kubectl get --raw /readyz on the master) before taking a snapshot',
    );
  if (r.objects!.code !== 0)
    fail(
      'preflight',
      node,
      `cannot count nodes, namespaces and secrets: ${err('objects')}`,
      'check the API server and the node kubeconfig /etc/rancher/rke2/rke2.yaml',
    );
  const nodeVersions: Record<string, string> = {};
  for (const line of r.nodes!.stdout.split('\n')) {
    const [name, version] = line.split('\t');
    if (name) nodeVersions[name] = version ?? '';
  }
  const images = r.etcd!.code === 0 ? r.etcd!.stdout.split('\n').map((l) => l.split('\t')) : [];
  const etcdImage = images.find(([n]) => n === node)?.[1] ?? images.find(([n]) => n)?.[1] ?? null;

  let velero: PreflightResult['velero'] = null;
  if (opts.velero) {
    if (r.schedule!.code !== 0)
      velero = {
        error: `cannot read Velero schedule ${opts.velero.namespace}/${opts.velero.schedule}: ${err('schedule')}`,
      };
    else if (r.bsls!.code !== 0)
      velero = { error: `cannot read Velero BackupStorageLocations: ${err('bsls')}` };
    else {
      try {
        velero = {
          schedule: JSON.parse(r.schedule!.stdout) as KubeObject,
          locations: (JSON.parse(r.bsls!.stdout) as { items?: KubeObject[] }).items ?? [],
        };
      } catch {
        velero = { error: 'kubectl printed no JSON for the Velero schedule or locations' };
      }
    }
  }
  return {
    facts: {
      serverVersion: parseRke2Version(r.version!.stdout),
      nodeVersions,
      tokenSha256: r.token!.stdout.trim(),
      counts: parseCounts(r.objects!.stdout),
      etcdImage: etcdImage || null,
      previousMarker: r.marker!.stdout.trim() || null,
    },
    velero,
  };
}
