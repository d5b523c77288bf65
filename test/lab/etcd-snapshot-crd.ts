/**
 * RKE2's `ETCDSnapshotFile` CRD (k3s.cattle.io/v1, cluster-scoped; rke2-facts.md §1.7), applied to
 * the lab's real API so `kubectl get etcdsnapshotfiles` shows the snapshots the simulated
 * `rke2 etcd-snapshot` commands record (node/snapshot.ts keeps them in step with storage).
 */
import type { KubeClient } from './kube-client.js';

export const ETCD_SNAPSHOT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'etcdsnapshotfiles.k3s.cattle.io' },
  spec: {
    group: 'k3s.cattle.io',
    names: {
      kind: 'ETCDSnapshotFile',
      listKind: 'ETCDSnapshotFileList',
      plural: 'etcdsnapshotfiles',
      singular: 'etcdsnapshotfile',
    },
    scope: 'Cluster',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        additionalPrinterColumns: [
          { name: 'SnapshotName', type: 'string', jsonPath: '.spec.snapshotName' },
          { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
          { name: 'Location', type: 'string', jsonPath: '.spec.location' },
          { name: 'Size', type: 'string', jsonPath: '.status.size' },
          { name: 'CreationTime', type: 'string', jsonPath: '.status.creationTime' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

export async function installEtcdSnapshotCrd(kube: KubeClient): Promise<void> {
  await kube.ensure('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', ETCD_SNAPSHOT_CRD);
}
