/**
 * SIMULATION of kube-controller-manager's namespace controller, run by the lab controller
 * process: a namespace being deleted (phase Terminating) has every namespaced object deleted,
 * and once nothing is left (pods are gone when their kubelet confirmed it, PVCs when
 * pvc-protection let go - cluster-controllers.ts) its `kubernetes` finalizer is removed, so
 * `kubectl delete namespace` completes - which a rollback relies on before a Velero restore
 * (Velero never overwrites, rke2-facts.md §5.4). A pod on a dead node keeps its namespace
 * Terminating, as on a real cluster. There is no kube-controller-manager in the lab; without
 * this a deleted namespace would stay Terminating forever.
 */
import type { KubeClient } from './kube-client.js';

interface ApiResource {
  name: string;
  namespaced: boolean;
  verbs: string[];
}

async function namespacedCollections(kube: KubeClient): Promise<string[]> {
  const paths: string[] = [];
  const add = async (base: string) => {
    const list = await kube.get<{ resources: ApiResource[] }>(base);
    for (const r of list.resources) {
      if (r.namespaced && !r.name.includes('/') && r.verbs.includes('deletecollection'))
        paths.push(`${base}/namespaces/{ns}/${r.name}`);
    }
  };
  await add('/api/v1');
  const groups = await kube.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>('/apis');
  for (const g of groups.groups) {
    try {
      await add(`/apis/${g.preferredVersion.groupVersion}`);
    } catch {
      // an aggregated group that is not available: nothing of it to delete
    }
  }
  return paths;
}

export async function tickNamespaces(kube: KubeClient): Promise<void> {
  const list = await kube.get<{
    items: { metadata: { name: string }; spec?: { finalizers?: string[] }; status?: { phase?: string } }[];
  }>('/api/v1/namespaces');
  const terminating = list.items.filter((n) => n.status?.phase === 'Terminating');
  if (terminating.length === 0) return;
  const collections = await namespacedCollections(kube);
  for (const ns of terminating) {
    const name = ns.metadata.name;
    for (const c of collections) await kube.delete(c.replace('{ns}', name));
    const left = await Promise.all(
      [`/api/v1/namespaces/${name}/pods`, `/api/v1/namespaces/${name}/persistentvolumeclaims`].map(
        async (p) => (await kube.get<{ items: unknown[] }>(p)).items.length,
      ),
    );
    if (left.some((n) => n > 0)) continue;
    await kube.call('PUT', `/api/v1/namespaces/${name}/finalize`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
      spec: { finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== 'kubernetes') },
    });
  }
}
