/**
 * SIMULATION of the kubelet side of RKE2 (rke2-facts.md §3.3, §4): registering the Node with
 * the RKE2 labels and `kubeletVersion` = installed RKE2 version, the static mirror pods
 * (`kube-proxy-<node>`, `etcd-<node>`, `kube-apiserver-<node>` with `component=`/`tier=control-plane`),
 * and the status of pods bound to this node. Written straight to the real API server's
 * status subresources (what `kubectl patch --subresource=status` does): deterministic, no
 * controller needed. When a node stops, the node lifecycle controller would mark it
 * Ready=Unknown after its grace period (40 s); the lab does it at once from the stopping node.
 */
import { KubeClient, authFromFiles } from '../kube-client.js';
import { podStatus, podBroken } from '../pod-status.js';
import {
  type NodeSimConfig,
  type RkeConfig,
  cfgBool,
  cfgString,
  nodeName,
  installedVersion,
  loadReleaseTable,
  log,
} from './common.js';

export function kubeClient(node: NodeSimConfig, cfg: RkeConfig, timeoutMs = 4000): KubeClient {
  const servers: string[] = [];
  if (node.role === 'master') servers.push(`https://${node.address}:6443`);
  const server = cfgString(cfg, 'server');
  if (server) servers.push(`https://${new URL(server).hostname}:6443`);
  for (const m of node.masters) {
    const s = `https://${m.address}:6443`;
    if (!servers.includes(s)) servers.push(s);
  }
  return new KubeClient(
    servers,
    authFromFiles(node.pki.caCert, node.pki.adminCert, node.pki.adminKey),
    timeoutMs,
  );
}

function ts(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function nodeLabels(node: NodeSimConfig, cfg: RkeConfig, name: string): Record<string, string> {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'node.kubernetes.io/instance-type': 'rke2',
  };
  if (node.role === 'master') {
    labels['node-role.kubernetes.io/control-plane'] = 'true';
    labels['node-role.kubernetes.io/etcd'] = 'true';
    labels['node-role.kubernetes.io/master'] = 'true';
  }
  const extra = cfg['node-label'];
  if (Array.isArray(extra)) {
    for (const kv of extra) {
      const [k, v] = String(kv).split('=');
      if (k) labels[k] = v ?? '';
    }
  }
  return labels;
}

function nodeStatus(node: NodeSimConfig, name: string, ready: 'True' | 'False' | 'Unknown', version: string) {
  const t = ts();
  const readyCondition =
    ready === 'True'
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: ready,
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
        };
  return {
    status: {
      conditions: [
        {
          type: 'MemoryPressure',
          status: ready === 'True' ? 'False' : 'Unknown',
          reason: 'KubeletHasSufficientMemory',
          message: 'lab',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
        {
          type: 'DiskPressure',
          status: ready === 'True' ? 'False' : 'Unknown',
          reason: 'KubeletHasNoDiskPressure',
          message: 'lab',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
        {
          type: 'PIDPressure',
          status: ready === 'True' ? 'False' : 'Unknown',
          reason: 'KubeletHasSufficientPID',
          message: 'lab',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
        { ...readyCondition, lastHeartbeatTime: t, lastTransitionTime: t },
      ],
      addresses: [
        { type: 'InternalIP', address: node.address },
        { type: 'Hostname', address: name },
      ],
      capacity: { cpu: '2', memory: '4026532Ki', pods: '110', 'ephemeral-storage': '40Gi' },
      allocatable: { cpu: '2', memory: '4026532Ki', pods: '110', 'ephemeral-storage': '40Gi' },
      nodeInfo: {
        machineID: name,
        systemUUID: name,
        bootID: name,
        kernelVersion: 'lab',
        osImage: 'rke2-ops lab node',
        containerRuntimeVersion: 'containerd://lab',
        kubeletVersion: version,
        kubeProxyVersion: version,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

interface PodLike {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
}

function mirrorPods(node: NodeSimConfig, cfg: RkeConfig, name: string, version: string): PodLike[] {
  const tag = version.replace('+', '-');
  const make = (component: string, image: string): PodLike => ({
    metadata: {
      name: `${component}-${name}`,
      namespace: 'kube-system',
      labels: { component, tier: 'control-plane' },
    },
    spec: { nodeName: name, containers: [{ name: component, image }] },
  });
  const pods: PodLike[] = [];
  if (!cfgBool(cfg, 'disable-kube-proxy'))
    pods.push(make('kube-proxy', `rancher/hardened-kubernetes:${tag}`));
  if (node.role === 'master') {
    pods.push(make('etcd', 'rancher/hardened-etcd:v3.6-lab'));
    pods.push(make('kube-apiserver', `rancher/hardened-kubernetes:${tag}`));
  }
  return pods;
}

/** Registers/updates this Node, its mirror pods and the status of every pod bound to it. */
export async function syncNode(node: NodeSimConfig, cfg: RkeConfig, ready: boolean): Promise<void> {
  const kube = kubeClient(node, cfg);
  const name = nodeName(cfg, node);
  const version = installedVersion();
  const release = loadReleaseTable(node).versions[version];
  const path = `/api/v1/nodes/${name}`;
  await kube.ensure('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: nodeLabels(node, cfg, name) },
  } as never);
  await kube.mergePatch(path, {
    metadata: { labels: nodeLabels(node, cfg, name), annotations: { 'rke2.io/node-version': version } },
  });
  await kube.mergePatch(`${path}/status`, nodeStatus(node, name, ready ? 'True' : 'Unknown', version));
  if (!ready) {
    await markPods(kube, node, name, false, release);
    return;
  }
  const wanted = mirrorPods(node, cfg, name, version);
  // Mirror pods follow the static manifests: kube-proxy disappears with disable-kube-proxy.
  const existing = await listPodsOnNode(kube, name);
  for (const p of existing) {
    const isMirror = p.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
    if (isMirror && !wanted.some((w) => w.metadata.name === p.metadata.name)) {
      await kube.delete(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`);
    }
  }
  for (const pod of wanted) {
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...pod.metadata,
        annotations: { 'kubernetes.io/config.mirror': 'lab', 'kubernetes.io/config.source': 'file' },
        ownerReferences: [],
      },
      spec: { ...pod.spec, priorityClassName: 'system-node-critical', priority: 2000001000 },
    };
    const ns = pod.metadata.namespace;
    const current = await kube.getOrNull<PodLike>(`/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`);
    // A new version means a new static manifest: recreate the mirror pod with the new image.
    if (current && current.spec.containers[0]?.image !== pod.spec.containers[0]?.image) {
      await kube.delete(`/api/v1/namespaces/${ns}/pods/${pod.metadata.name}?gracePeriodSeconds=0`);
      await waitDeleted(kube, `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`);
    }
    await kube.ensure(`/api/v1/namespaces/${ns}/pods`, body);
  }
  await markPods(kube, node, name, true, release);
}

async function waitDeleted(kube: KubeClient, path: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    if (!(await kube.getOrNull(path))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PodItem extends PodLike {
  metadata: PodLike['metadata'] & { annotations?: Record<string, string> };
}

async function listPodsOnNode(kube: KubeClient, name: string): Promise<PodItem[]> {
  const list = await kube.get<{ items: PodItem[] }>(
    `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`,
  );
  return list.items;
}

async function markPods(
  kube: KubeClient,
  node: NodeSimConfig,
  name: string,
  nodeReady: boolean,
  release: ReturnType<typeof loadReleaseTable>['versions'][string] | undefined,
): Promise<void> {
  for (const pod of await listPodsOnNode(kube, name)) {
    const broken = podBroken(pod.metadata.labels, release);
    await kube.mergePatch(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, {
      status: podStatus(pod, node.address, broken, nodeReady),
    });
  }
}

/** Best effort: a stopping node cannot always reach an API (e.g. the last master going down). */
export async function markNotReady(node: NodeSimConfig, cfg: RkeConfig): Promise<void> {
  try {
    const kube = kubeClient(node, cfg, 1500);
    const name = nodeName(cfg, node);
    if (!(await kube.getOrNull(`/api/v1/nodes/${name}`))) return;
    await syncNode(node, cfg, false);
  } catch (error) {
    log.warn(`lab: could not mark node NotReady: ${(error as Error).message}`);
  }
}
