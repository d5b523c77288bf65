/**
 * SIMULATION of the node lifecycle controller (kube-controller-manager), run by the lab controller
 * process: a Node whose kubelet is gone is marked `Ready=Unknown` ("Kubelet stopped posting node
 * status.") after a grace period, and the pods bound to it `Ready=False`. The real controller
 * watches node leases with --node-monitor-grace-period (50 s since Kubernetes 1.32,
 * kubernetes/kubernetes#127352); the lab looks at whether the node's simulated unit
 * (rke2-server/rke2-agent main process, where the kubelet lives) runs, with
 * timing.nodeMonitorGraceSec (default 50 s; 10 s with `timing: 'fast'`). A stopped or killed
 * node stays Ready until then - as on a real cluster. This also matters after a restore: Node
 * objects come back from the snapshot saying Ready, and a node nobody starts again must not
 * stay Ready.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from './kube-client.js';
import type { LabState } from './state.js';

interface NodeObj {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * The node's unit main process runs (title `rke2 server`/`rke2 agent`): its kubelet is alive,
 * whether the unit is active or still starting.
 */
export function nodeUnitRunning(nodeDir: string, role: 'master' | 'worker'): boolean {
  const unit = role === 'master' ? 'rke2-server' : 'rke2-agent';
  try {
    const pid = Number(
      readFileSync(join(nodeDir, 'var-lib-rancher/rke2/lab/run', `${unit}.pid`), 'utf8').trim(),
    );
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    if (!cmd.startsWith('rke2 ')) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

const downSince = new Map<string, number>();

export async function tickNodeLifecycle(kube: KubeClient, state: LabState, graceMs: number): Promise<void> {
  const list = await kube.get<{ items: NodeObj[] }>('/api/v1/nodes');
  const now = Date.now();
  for (const node of list.items) {
    const labNode = state.nodes.find((n) => n.name === node.metadata.name);
    if (!labNode) continue;
    if (!labNode.lost && nodeUnitRunning(labNode.dir, labNode.role)) {
      downSince.delete(node.metadata.name);
      continue;
    }
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    if (ready !== 'True') continue;
    const since = downSince.get(node.metadata.name) ?? now;
    downSince.set(node.metadata.name, since);
    if (now - since < graceMs) continue;
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = (node.status?.conditions ?? []).map((c) =>
      c.type === 'Ready'
        ? {
            ...c,
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: t,
          }
        : {
            ...c,
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: t,
          },
    );
    // A strategic-merge patch keyed by condition type, as the controller does.
    await kube.call(
      'PATCH',
      `/api/v1/nodes/${node.metadata.name}/status`,
      { status: { conditions } },
      'application/strategic-merge-patch+json',
    );
    const pods = await kube.get<{ items: { metadata: { name: string; namespace: string } }[] }>(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node.metadata.name}`)}`,
    );
    for (const p of pods.items) {
      await kube.call(
        'PATCH',
        `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`,
        { status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t }] } },
        'application/strategic-merge-patch+json',
      );
    }
  }
}
