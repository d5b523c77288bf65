/**
 * Lab scenarios (issue 4):
 *  - `healthy`: system pods (CoreDNS `k8s-app=kube-dns`, hcloud CCM
 *    `app.kubernetes.io/name=hcloud-cloud-controller-manager`; kube-proxy/etcd/apiserver mirror
 *    pods come from the nodes) and application objects in `openedx`.
 *  - `bad-upgrade`: installs a release marked bad on every node, restarts the services (masters
 *    one at a time, then workers) - CoreDNS crash-loops on nodes running it - and changes and
 *    deletes application objects, as a bad upgrade would.
 *  - `unreachable-node`: stops a node's sshd (default: the last worker); its services keep running.
 *  - `corrupt-snapshot` / `missing-snapshot`: damages / deletes a local snapshot file on a master.
 * The Deployment and Pod objects are created as the controllers would have; pod status is the
 * kubelet simulation's (pod-status.ts), so it follows each node's installed version.
 */
import { bashScript, sh } from '../../src/lib/quote.js';
import { podStatus, podBroken } from './pod-status.js';
import { BAD_VERSION } from './release-table.js';
import type { Lab } from './lab.js';
import type { KubeClient } from './kube-client.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ScenarioName =
  'healthy' | 'bad-upgrade' | 'unreachable-node' | 'corrupt-snapshot' | 'missing-snapshot';

export interface ScenarioOptions {
  /** Target node (unreachable-node, *-snapshot). */
  node?: string;
  /** bad-upgrade: version to install (must be in the release table); default v1.34.5+rke2r1. */
  version?: string;
  /** *-snapshot: file name in server/db/snapshots; default the newest one. */
  snapshot?: string;
}

export const SCENARIOS: ScenarioName[] = [
  'healthy',
  'bad-upgrade',
  'unreachable-node',
  'corrupt-snapshot',
  'missing-snapshot',
];

export async function applyScenario(lab: Lab, name: ScenarioName, opts: ScenarioOptions = {}): Promise<void> {
  switch (name) {
    case 'healthy':
      return healthy(lab);
    case 'bad-upgrade':
      return badUpgrade(lab, opts.version ?? BAD_VERSION);
    case 'unreachable-node':
      return lab.stopSshd(opts.node ?? lastNode(lab));
    case 'corrupt-snapshot':
    case 'missing-snapshot':
      return damageSnapshot(lab, name, opts);
    default:
      throw new Error(`unknown scenario ${String(name)} (known: ${SCENARIOS.join(', ')})`);
  }
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
