/**
 * SIMULATION of the node lifecycle controller (kube-controller-manager), run by the lab controller
 * process: a Node whose kubelet is gone is marked `Ready=Unknown` ("Kubelet stopped posting node
 * status.") after a grace period, and the pods bound to it `Ready=False`. The real controller
 * watches node leases (grace 40-50 s); the lab looks at whether the node's simulated unit
 * (rke2-server/rke2-agent main process) runs, with a shorter grace (`nodeMonitorGraceSeconds` in
 * the lab settings, default 10 s). This matters after a restore: Node objects come back from the
 * snapshot saying Ready, and a node nobody starts again must not stay Ready.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from './kube-client.js';
import type { LabState } from './state.js';

interface NodeObj {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** The unit's main process runs, or the unit is starting (the kubelet registers before the unit is active). */
function unitRunning(dir: string, unit: string): boolean {
  let pid: number;
  try {
    // A start that was interrupted (its SSH session killed) leaves `activating` behind: only a
    // recent one counts.
    const file = join(dir, 'var-lib-rancher/rke2/lab/run', `${unit}.state`);
    const state = readFileSync(file, 'utf8').trim();
    if (state === 'activating' && Date.now() - statSync(file).mtimeMs < 180_000) return true;
  } catch {
    // never started
  }
  try {
    pid = Number(readFileSync(join(dir, 'var-lib-rancher/rke2/lab/run', `${unit}.pid`), 'utf8').trim());
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return cmd.startsWith('rke2 ');
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
    const unit = labNode.role === 'master' ? 'rke2-server' : 'rke2-agent';
    if (unitRunning(labNode.dir, unit)) {
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
