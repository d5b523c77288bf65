/**
 * SIMULATION of the kubelet side of RKE2 (rke2-facts.md §3.3, §4): registering the Node with
 * the RKE2 labels and `kubeletVersion` = installed RKE2 version, the static mirror pods
 * (`kube-proxy-<node>`, `etcd-<node>`, `kube-apiserver-<node>` with `component=`/`tier=control-plane`),
 * and the status of pods bound to this node. Written straight to the real API server's
 * status subresources (what `kubectl patch --subresource=status` does): deterministic, no
 * controller needed. A Node registers NotReady - "container runtime network not ready ...
 * cni plugin not initialized", the kubelet's message until the CNI pods run - and turns Ready
 * timing.nodeReadyDelaySec later. A stopped kubelet posts nothing: the node lifecycle
 * simulation (node-lifecycle.ts) marks the Node Unknown after its grace period.
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

export type KubeletReport = 'ready' | 'notready' | 'unknown';

/** The kubelet's NotReady message before the CNI is up (kubelet's runtime network check). */
export const CNI_NOT_READY =
  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

function nodeStatus(node: NodeSimConfig, name: string, report: KubeletReport, version: string) {
  const t = ts();
  const ready: 'True' | 'False' | 'Unknown' =
    report === 'ready' ? 'True' : report === 'notready' ? 'False' : 'Unknown';
  const readyCondition =
    report === 'ready'
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : report === 'notready'
        ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: CNI_NOT_READY }
        : {
            type: 'Ready',
            status: ready,
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
          };
  const pressure = report === 'unknown' ? 'Unknown' : 'False';
  return {
    status: {
      conditions: [
        {
          type: 'MemoryPressure',
          status: pressure,
          reason: 'KubeletHasSufficientMemory',
          message: 'lab',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
        {
          type: 'DiskPressure',
          status: pressure,
          reason: 'KubeletHasNoDiskPressure',
          message: 'lab',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
        {
          type: 'PIDPressure',
          status: pressure,
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
export async function syncNode(node: NodeSimConfig, cfg: RkeConfig, report: KubeletReport): Promise<void> {
  const ready = report === 'ready';
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
  await kube.mergePatch(`${path}/status`, nodeStatus(node, name, report, version));
  if (report === 'unknown') {
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
  await markPods(kube, node, name, ready, release);
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
