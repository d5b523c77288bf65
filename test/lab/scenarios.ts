/**
 * Lab scenarios (issues 4 and 9):
 *  - `healthy`: system pods (CoreDNS `k8s-app=kube-dns`, hcloud CCM
 *    `app.kubernetes.io/name=hcloud-cloud-controller-manager`; kube-proxy/etcd/apiserver mirror
 *    pods come from the nodes) and application objects in `openedx`, including the PVC
 *    `mysql-data` (a volume with content, used by pod `mysql-...`).
 *  - `bad-upgrade`: installs a release marked bad on every node, restarts the services (masters
 *    one at a time, then workers) - CoreDNS crash-loops on nodes running it - and changes and
 *    deletes application objects and the database volume's data, as a bad upgrade would.
 *  - `unreachable-node`: stops a node's sshd (default: the last worker); its services keep running.
 *  - `node-lost`: the node is gone for good (default: the last worker): sshd, its unit, etcd and
 *    the API server die and nothing brings them back.
 *  - `corrupt-snapshot` / `missing-snapshot`: damages / deletes a local snapshot file on a master.
 *  - `disk-full`: a size-limited filesystem over a master's `server/db/snapshots` (default
 *    master-0) with the files it held and ~64 KiB free: the next snapshot fails with ENOSPC.
 *  - `s3-down` (`mode` refuse|blackhole), `s3-bad-credentials` (the lab's key revoked at the
 *    S3 server), `s3-missing-bucket` (the etcd snapshot bucket is gone): for RKE2 and Velero.
 *  - `scheduled-snapshot`: every running master's scheduled snapshot, taken at `at`.
 *  - `reset-hang`: `rke2 server --cluster-reset` on the node (default master-0) never exits.
 *  - `peer-stuck-join`: the node (default master-1) joins etcd on its next start, but its unit
 *    never becomes active.
 * `lab.clearScenario(name)` undoes the ones that can be undone.
 * The Deployment and Pod objects are created as the controllers would have; pod status is the
 * kubelet simulation's (pod-status.ts), so it follows each node's installed version.
 */
import { bashScript, sh } from '../../src/lib/quote.js';
import { podStatus, podBroken } from './pod-status.js';
import { BAD_VERSION } from './release-table.js';
import type { Lab } from './lab.js';
import type { KubeClient } from './kube-client.js';
import { existsSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { labProcesses } from './procs.js';
import { writeState, type NodeState } from './state.js';

export type ScenarioName =
  | 'healthy'
  | 'bad-upgrade'
  | 'unreachable-node'
  | 'node-lost'
  | 'corrupt-snapshot'
  | 'missing-snapshot'
  | 'disk-full'
  | 's3-down'
  | 's3-bad-credentials'
  | 's3-missing-bucket'
  | 'scheduled-snapshot'
  | 'reset-hang'
  | 'peer-stuck-join';

export interface ScenarioOptions {
  /** Target node (unreachable-node, node-lost, *-snapshot, disk-full, reset-hang, peer-stuck-join). */
  node?: string;
  /** bad-upgrade: version to install (must be in the release table); default v1.34.5+rke2r1. */
  version?: string;
  /** *-snapshot: file name in server/db/snapshots; default the newest one. */
  snapshot?: string;
  /** s3-down: `refuse` (default: connections refused) or `blackhole` (connections hang). */
  mode?: 'refuse' | 'blackhole';
  /** scheduled-snapshot: the time the schedule fires (default now). */
  at?: Date | number;
  /** disk-full: bytes left free (default 64 KiB). */
  freeBytes?: number;
}

export const SCENARIOS: ScenarioName[] = [
  'healthy',
  'bad-upgrade',
  'unreachable-node',
  'node-lost',
  'corrupt-snapshot',
  'missing-snapshot',
  'disk-full',
  's3-down',
  's3-bad-credentials',
  's3-missing-bucket',
  'scheduled-snapshot',
  'reset-hang',
  'peer-stuck-join',
];

export async function applyScenario(lab: Lab, name: ScenarioName, opts: ScenarioOptions = {}): Promise<void> {
  switch (name) {
    case 'healthy':
      return healthy(lab);
    case 'bad-upgrade':
      return badUpgrade(lab, opts.version ?? BAD_VERSION);
    case 'unreachable-node':
      return lab.stopSshd(opts.node ?? lastNode(lab));
    case 'node-lost':
      return nodeLost(lab, opts.node ?? lastNode(lab));
    case 'corrupt-snapshot':
    case 'missing-snapshot':
      return damageSnapshot(lab, name, opts);
    case 'disk-full':
      return diskFull(lab, opts.node ?? master(lab, 0), opts.freeBytes ?? 65536);
    case 's3-down':
      return lab.s3Down({ mode: opts.mode ?? 'refuse' });
    case 's3-bad-credentials':
      return s3BadCredentials(lab);
    case 's3-missing-bucket':
      return s3MissingBucket(lab);
    case 'scheduled-snapshot':
      await lab.scheduledSnapshots(opts.at === undefined ? {} : { at: opts.at });
      return;
    case 'reset-hang':
      return setFault(lab, opts.node ?? master(lab, 0), 'resetHang', true);
    case 'peer-stuck-join':
      return setFault(lab, opts.node ?? master(lab, 1), 'stuckJoin', true);
    default:
      throw new Error(`unknown scenario ${String(name)} (known: ${SCENARIOS.join(', ')})`);
  }
}

/** Undoes a scenario where that is possible. */
export async function clearScenario(lab: Lab, name: ScenarioName, opts: ScenarioOptions = {}): Promise<void> {
  switch (name) {
    case 's3-down':
    case 's3-bad-credentials':
    case 's3-missing-bucket':
      return lab.s3Up();
    case 'unreachable-node':
      return lab.startSshd(opts.node ?? lastNode(lab));
    case 'disk-full':
      return diskFree(lab, opts.node ?? master(lab, 0));
    case 'reset-hang':
      return setFault(lab, opts.node ?? master(lab, 0), 'resetHang', false);
    case 'peer-stuck-join':
      return setFault(lab, opts.node ?? master(lab, 1), 'stuckJoin', false);
    default:
      throw new Error(`scenario ${name} cannot be undone`);
  }
}

function master(lab: Lab, i: number): string {
  const masters = lab.state.nodes.filter((n) => n.role === 'master');
  return (masters[i] ?? masters[0]!).name;
}

function nodeState(lab: Lab, name: string): NodeState {
  const n = lab.state.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in lab ${lab.name}`);
  return n;
}

/** Lab-injected faults read by the node simulation (node/common.ts loadFaults). */
function setFault(lab: Lab, node: string, fault: 'resetHang' | 'stuckJoin', on: boolean): void {
  const file = join(nodeState(lab, node).dir, 'etc-rancher', 'rke2-lab', 'faults.json');
  const faults = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>) : {};
  if (on) faults[fault] = true;
  else delete faults[fault];
  writeFileSync(file, `${JSON.stringify(faults)}\n`);
}

/** The machine is gone: every process of the node dies (sshd, unit, etcd, API server). */
async function nodeLost(lab: Lab, name: string): Promise<void> {
  const node = nodeState(lab, name);
  await lab.stopSshd(name).catch(() => {});
  node.lost = true;
  writeState(lab.state);
  for (let i = 0; i < 100; i++) {
    const procs = labProcesses(lab.state.id, lab.dir).filter((p) => p.node === name);
    if (procs.length === 0) return;
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node-lost: processes of ${name} did not die`);
}

function s3Pid(lab: Lab): number {
  const pid = lab.state.s3.pid;
  if (!pid) throw new Error('the lab S3 server is down (s3-down): bring it up first');
  return pid;
}

function s3BadCredentials(lab: Lab): void {
  process.kill(s3Pid(lab), 'SIGUSR1');
  lab.state.s3.faults = { ...(lab.state.s3.faults ?? {}), badCredentials: true };
  writeState(lab.state);
}

function s3MissingBucket(lab: Lab): void {
  const from = join(lab.dir, 's3', lab.state.s3.bucket);
  const to = join(lab.dir, 's3', `.${lab.state.s3.bucket}.missing`);
  if (!existsSync(to)) renameSync(from, to);
  rmSync(from, { recursive: true, force: true });
  lab.state.s3.faults = { ...(lab.state.s3.faults ?? {}), missingBucket: true };
  writeState(lab.state);
}

const SNAPSHOT_DIR = '/var/lib/rancher/rke2/server/db/snapshots';
const STASH = '/var/lib/rancher/rke2/lab/disk-full-stash';

async function diskFull(lab: Lab, node: string, freeBytes: number): Promise<void> {
  const s = await lab.shell(node);
  const r = await s.exec(
    bashScript([
      sh`d=${SNAPSHOT_DIR}; stash=${STASH}`,
      'mkdir -p "$d"',
      'if awk -v d="$d" \'$1=="lab-disk-full" && $2==d {found=1} END {exit !found}\' /proc/self/mounts; then exit 0; fi',
      'rm -rf "$stash"; mkdir -p "$stash"; cp -a "$d/." "$stash/"',
      // tmpfs counts 4 KiB pages per file: the files it holds, a little slack, then the free room.
      sh`blocks=$(du -s --block-size=4096 "$stash" | cut -f1); size=$(( (blocks + 8) * 4096 + ${freeBytes} ))`,
      'mount -t tmpfs -o "size=$size,mode=0700" lab-disk-full "$d"',
      'cp -a "$stash/." "$d/"; rm -rf "$stash"',
    ]),
  );
  if (r.code !== 0) throw new Error(`disk-full on ${node}: ${r.stderr}`);
}

async function diskFree(lab: Lab, node: string): Promise<void> {
  const s = await lab.shell(node);
  // Wherever the mount went (a rollback may have moved server/db aside).
  const r = await s.exec(
    bashScript([
      sh`stash=${STASH}`,
      'awk \'$1=="lab-disk-full" {print $2}\' /proc/self/mounts | while read -r d; do',
      '  rm -rf "$stash"; mkdir -p "$stash"; cp -a "$d/." "$stash/"',
      '  umount "$d"',
      '  cp -a "$stash/." "$d/"; rm -rf "$stash"',
      'done',
    ]),
  );
  if (r.code !== 0) throw new Error(`disk-full undo on ${node}: ${r.stderr}`);
}

function lastNode(lab: Lab): string {
  const n = lab.state.nodes;
  return n[n.length - 1]!.name;
}

function deployment(
  ns: string,
  name: string,
  labels: Record<string, string>,
  replicas: number,
  image: string,
) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: name.split('-').pop() ?? name, image }] },
      },
    },
  };
}

function pod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  nodeName: string,
  image: string,
  owner: string,
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels, annotations: { 'lab.rke2-ops.io/deployment': owner } },
    spec: { nodeName, containers: [{ name: owner.split('-').pop() ?? owner, image }] },
  };
}

interface NodeObj {
  metadata: { name: string };
  status?: {
    nodeInfo?: { kubeletVersion?: string };
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}

/** Sets the status a kubelet on the pod's node would report (same rules as node/kubelet.ts). */
async function reportPod(lab: Lab, kube: KubeClient, p: ReturnType<typeof pod>): Promise<boolean> {
  const node = await kube.get<NodeObj>(`/api/v1/nodes/${p.spec.nodeName}`);
  const table = JSON.parse(readFileSync(join(lab.dir, 'release-table.json'), 'utf8')) as {
    versions: Record<string, { status: 'good' | 'bad'; breaks?: string[] }>;
  };
  const release = table.versions[node.status?.nodeInfo?.kubeletVersion ?? ''];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
  const broken = podBroken(p.metadata.labels, release);
  await kube.mergePatch(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`, {
    status: podStatus(p, ip, broken, ready),
  });
  return !broken && ready;
}

async function healthy(lab: Lab): Promise<void> {
  const kube = lab.kube();
  const masters = lab.state.nodes.filter((n) => n.role === 'master');
  const m = (i: number) => masters[i % masters.length]!.name;
  await kube.ensure('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'openedx' },
  } as never);
  const dnsLabels = {
    'k8s-app': 'kube-dns',
    'app.kubernetes.io/name': 'rke2-coredns',
    'app.kubernetes.io/instance': 'rke2-coredns',
  };
  const ccmLabels = {
    'app.kubernetes.io/name': 'hcloud-cloud-controller-manager',
    'app.kubernetes.io/instance': 'hcloud-cloud-controller-manager',
  };
  const systems = [
    {
      dep: deployment(
        'kube-system',
        'rke2-coredns-rke2-coredns',
        dnsLabels,
        2,
        'rancher/hardened-coredns:v1.12.3',
      ),
      pods: [
        pod(
          'kube-system',
          'rke2-coredns-rke2-coredns-6b9c7f5d8-x2k4p',
          dnsLabels,
          m(0),
          'rancher/hardened-coredns:v1.12.3',
          'rke2-coredns-rke2-coredns',
        ),
        pod(
          'kube-system',
          'rke2-coredns-rke2-coredns-6b9c7f5d8-q7m2z',
          dnsLabels,
          m(1),
          'rancher/hardened-coredns:v1.12.3',
          'rke2-coredns-rke2-coredns',
        ),
      ],
    },
    {
      dep: deployment(
        'kube-system',
        'hcloud-cloud-controller-manager',
        ccmLabels,
        1,
        'docker.io/hetznercloud/hcloud-cloud-controller-manager:v1.26.0',
      ),
      pods: [
        pod(
          'kube-system',
          'hcloud-cloud-controller-manager-7c8d9b6f4-h5n8r',
          ccmLabels,
          m(0),
          'docker.io/hetznercloud/hcloud-cloud-controller-manager:v1.26.0',
          'hcloud-cloud-controller-manager',
        ),
      ],
    },
    {
      dep: deployment('openedx', 'lms', { app: 'lms' }, 1, 'overhangio/openedx:20.0.0'),
      pods: [
        pod(
          'openedx',
          'lms-5f7d8c9b6-abcde',
          { app: 'lms' },
          workerOr(lab, 0),
          'overhangio/openedx:20.0.0',
          'lms',
        ),
      ],
    },
    {
      dep: deployment('openedx', 'cms', { app: 'cms' }, 1, 'overhangio/openedx:20.0.0'),
      pods: [
        pod(
          'openedx',
          'cms-6c8e9d7a5-fghij',
          { app: 'cms' },
          workerOr(lab, 1),
          'overhangio/openedx:20.0.0',
          'cms',
        ),
      ],
    },
  ];
  for (const s of systems) {
    const ns = s.dep.metadata.namespace;
    await kube.ensure(`/apis/apps/v1/namespaces/${ns}/deployments`, s.dep);
    let ready = 0;
    for (const p of s.pods) {
      await kube.ensure(`/api/v1/namespaces/${ns}/pods`, p);
      if (await reportPod(lab, kube, p)) ready++;
    }
    await kube.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/${s.dep.metadata.name}/status`, {
      status: {
        observedGeneration: 1,
        replicas: s.pods.length,
        updatedReplicas: s.pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
      },
    });
  }
  const cms = [
    {
      name: 'openedx-config',
      data: { LMS_HOST: 'lms.example.com', CMS_HOST: 'studio.example.com', PLATFORM_NAME: 'Lab Academy' },
    },
    { name: 'lms-settings', data: { 'lms.yml': 'FEATURES:\n  ENABLE_DISCUSSION_SERVICE: true\n' } },
    { name: 'openedx-theme', data: { theme: 'indigo' } },
  ];
  for (const c of cms)
    await kube.ensure('/api/v1/namespaces/openedx/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: c.name, namespace: 'openedx' },
      data: c.data,
    });
  await kube.ensure('/api/v1/namespaces/openedx/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'openedx-secrets', namespace: 'openedx' },
    type: 'Opaque',
    stringData: { MYSQL_ROOT_PASSWORD: 'lab-not-a-secret', SECRET_KEY: 'lab-not-a-secret-either' },
  });
  await database(lab, kube);
}

/** The PVC of the healthy scenario and the content its volume starts with. */
export const DATABASE_PVC = { namespace: 'openedx', name: 'mysql-data' };
export const DATABASE_CONTENT = {
  'openedx.sql': "-- openedx database (lab)\nINSERT INTO auth_user (id, username) VALUES (1, 'admin');\n",
};

/**
 * A database with a PersistentVolumeClaim: the lab's CSI stand-in provisions its volume once the
 * pod using it is scheduled (StorageClass hcloud-volumes, WaitForFirstConsumer); Velero backs it
 * up with file-system backup (the Schedule template sets defaultVolumesToFsBackup).
 */
async function database(lab: Lab, kube: KubeClient): Promise<void> {
  const ns = DATABASE_PVC.namespace;
  const labels = { app: 'mysql' };
  await kube.ensure(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: DATABASE_PVC.name, namespace: ns },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'hcloud-volumes',
      resources: { requests: { storage: '10Gi' } },
    },
  });
  const dep = deployment(ns, 'mysql', labels, 1, 'docker.io/mysql:8.4');
  (dep.spec.template.spec as Record<string, unknown>)['volumes'] = [
    { name: 'data', persistentVolumeClaim: { claimName: DATABASE_PVC.name } },
  ];
  await kube.ensure(`/apis/apps/v1/namespaces/${ns}/deployments`, dep);
  const p = pod(ns, 'mysql-7d9f8b6c5-m4x2q', labels, workerOr(lab, 0), 'docker.io/mysql:8.4', 'mysql');
  const body = {
    ...p,
    spec: {
      ...p.spec,
      containers: [
        {
          name: 'mysql',
          image: 'docker.io/mysql:8.4',
          volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: DATABASE_PVC.name } }],
    },
  };
  await kube.ensure(`/api/v1/namespaces/${ns}/pods`, body);
  const end = Date.now() + 60_000;
  for (;;) {
    const claim = await kube.get<{ status?: { phase?: string } }>(
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/${DATABASE_PVC.name}`,
    );
    if (claim.status?.phase === 'Bound') break;
    if (Date.now() > end) throw new Error(`PVC ${ns}/${DATABASE_PVC.name} was not bound within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (Object.keys(await lab.readVolume(ns, DATABASE_PVC.name)).length === 0)
    await lab.writeVolume(ns, DATABASE_PVC.name, DATABASE_CONTENT);
  const ready = (await reportPod(lab, kube, p)) ? 1 : 0;
  await kube.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/mysql/status`, {
    status: {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: ready,
      availableReplicas: ready,
    },
  });
}

function workerOr(lab: Lab, i: number): string {
  const workers = lab.state.nodes.filter((n) => n.role === 'worker');
  const pool = workers.length > 0 ? workers : lab.state.nodes;
  return pool[i % pool.length]!.name;
}

async function badUpgrade(lab: Lab, version: string): Promise<void> {
  const nodes = lab.state.nodes;
  for (const n of nodes) {
    const s = await lab.shell(n.name);
    await s.exec(
      bashScript([
        sh`INSTALL_RKE2_VERSION=${version} INSTALL_RKE2_TYPE=${n.role === 'master' ? 'server' : 'agent'} /usr/local/bin/rke2-install.sh`,
      ]),
    );
  }
  for (const m of nodes.filter((n) => n.role === 'master')) await lab.service(m.name, 'restart');
  await Promise.all(nodes.filter((n) => n.role === 'worker').map((w) => lab.service(w.name, 'restart')));
  const kube = lab.kube();
  // What the broken upgrade did to the application.
  await kube.mergePatch('/api/v1/namespaces/openedx/configmaps/lms-settings', {
    data: { 'lms.yml': 'FEATURES: {}\n# overwritten by a broken migration\n' },
  });
  await kube.delete('/api/v1/namespaces/openedx/configmaps/openedx-theme');
  await kube.delete('/apis/apps/v1/namespaces/openedx/deployments/cms');
  // A broken migration also rewrote the database.
  try {
    await lab.writeVolume(DATABASE_PVC.namespace, DATABASE_PVC.name, {
      'openedx.sql': '-- openedx database (lab)\n-- MIGRATED by v1.34.5: auth_user dropped\n',
    });
  } catch {
    // no database volume (scenario `none` lab): nothing to break
  }
  const dns = await kube.get<{ items: { status?: { containerStatuses?: { ready?: boolean }[] } }[] }>(
    '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns',
  );
  const ready = dns.items.filter((p) => p.status?.containerStatuses?.every((c) => c.ready)).length;
  await kube.mergePatch('/apis/apps/v1/namespaces/kube-system/deployments/rke2-coredns-rke2-coredns/status', {
    status: { readyReplicas: ready, availableReplicas: ready, unavailableReplicas: dns.items.length - ready },
  });
}

async function damageSnapshot(
  lab: Lab,
  name: 'corrupt-snapshot' | 'missing-snapshot',
  opts: ScenarioOptions,
): Promise<void> {
  const node = opts.node ?? lab.state.nodes.find((n) => n.role === 'master')!.name;
  const s = await lab.shell(node);
  const dir = '/var/lib/rancher/rke2/server/db/snapshots';
  const pick = opts.snapshot
    ? sh`f=${`${dir}/${opts.snapshot}`}`
    : sh`f=$(ls -1t ${dir} | head -n1); [ -n "$f" ] || { echo "no snapshot on this node" >&2; exit 1; }; f=${dir}/"$f"`;
  const act =
    name === 'missing-snapshot'
      ? sh`rm -f -- "$f"`
      : // Overwrite bytes in the middle: the size stays, the content (and its checksum) does not.
        sh`size=$(stat -c %s "$f"); printf 'rke2-ops-lab-corruption' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none`;
  const r = await s.exec(bashScript([pick, act, sh`echo "$f"`]));
  if (r.code !== 0) throw new Error(`${name} on ${node}: ${r.stderr}`);
}
