/**
 * Velero's API in the lab: the velero.io/v1 CRDs (Schedule, Backup, Restore,
 * BackupStorageLocation, PodVolumeBackup, PodVolumeRestore; namespaced, status subresource)
 * applied to the REAL kube-apiserver, the `velero` namespace, the credentials Secret
 * (`velero-s3-credentials`, key `cloud`, the chart's existingSecret layout), a default
 * BackupStorageLocation on the lab S3 as the chart renders it for Hetzner (provider aws,
 * s3Url, s3ForcePathStyle, region, checksumAlgorithm "") and the Schedule
 * `velero-full-cluster` (rke2-facts.md §5.1, §5.6). Also the cluster's default StorageClass
 * `hcloud-volumes` (csi.hetzner.cloud). The server side is velero-controller.ts.
 */
import { KubeClient } from './kube-client.js';
import type { S3Info } from './state.js';

const GROUP = 'velero.io';

function crd(
  kind: string,
  plural: string,
  printer: { name: string; path: string }[] = [],
  shortNames: string[] = [],
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}`, labels: { component: 'velero' } },
    spec: {
      group: GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        ...(shortNames.length > 0 ? { shortNames } : {}),
      },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printer.map((p) => ({ name: p.name, type: 'string', jsonPath: p.path })),
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
}

export const VELERO_CRDS = [
  crd('Backup', 'backups', [{ name: 'Status', path: '.status.phase' }]),
  crd('Restore', 'restores', [
    { name: 'Status', path: '.status.phase' },
    { name: 'Backup', path: '.spec.backupName' },
  ]),
  crd('Schedule', 'schedules', [
    { name: 'Status', path: '.status.phase' },
    { name: 'Schedule', path: '.spec.schedule' },
  ]),
  crd(
    'BackupStorageLocation',
    'backupstoragelocations',
    [
      { name: 'Phase', path: '.status.phase' },
      { name: 'Last Validated', path: '.status.lastValidationTime' },
    ],
    ['bsl'],
  ),
  crd('PodVolumeBackup', 'podvolumebackups', [
    { name: 'Status', path: '.status.phase' },
    { name: 'Volume', path: '.spec.volume' },
  ]),
  crd('PodVolumeRestore', 'podvolumerestores', [
    { name: 'Status', path: '.status.phase' },
    { name: 'Volume', path: '.spec.volume' },
  ]),
];

export const CREDENTIALS_SECRET = 'velero-s3-credentials';
export const STORAGE_CLASS = 'hcloud-volumes';

export const SCHEDULE = {
  apiVersion: 'velero.io/v1',
  kind: 'Schedule',
  metadata: {
    name: 'velero-full-cluster',
    namespace: 'velero',
    labels: { 'app.kubernetes.io/name': 'velero' },
  },
  spec: {
    schedule: '0 3 * * *',
    useOwnerReferencesInBackup: false,
    template: {
      includedNamespaces: ['*'],
      ttl: '720h0m0s',
      defaultVolumesToFsBackup: true,
      snapshotVolumes: false,
      storageLocation: 'default',
    },
  },
};

export async function installVelero(kube: KubeClient, s3: S3Info): Promise<void> {
  await kube.ensure('/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: STORAGE_CLASS,
      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
    },
    provisioner: 'csi.hetzner.cloud',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  });
  for (const c of VELERO_CRDS)
    await kube.ensure('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', c);
  for (const c of VELERO_CRDS) {
    for (let i = 0; ; i++) {
      const got = await kube.getOrNull<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${c.metadata.name}`,
      );
      if (got?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (i > 100) throw new Error(`CRD ${c.metadata.name} not established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await kube.ensure('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'velero' },
  } as never);
  await kube.ensure('/api/v1/namespaces/velero/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CREDENTIALS_SECRET, namespace: 'velero' },
    type: 'Opaque',
    stringData: {
      cloud: `[default]\naws_access_key_id=${s3.accessKeyId}\naws_secret_access_key=${s3.secretAccessKey}\n`,
    },
  });
  // A fresh CRD can take a moment to be served on every API server.
  for (let i = 0; ; i++) {
    try {
      await kube.ensure('/apis/velero.io/v1/namespaces/velero/backupstoragelocations', {
        apiVersion: 'velero.io/v1',
        kind: 'BackupStorageLocation',
        metadata: { name: 'default', namespace: 'velero' },
        spec: {
          provider: 'aws',
          default: true,
          accessMode: 'ReadWrite',
          objectStorage: { bucket: 'velero' },
          credential: { name: CREDENTIALS_SECRET, key: 'cloud' },
          config: {
            region: s3.region,
            s3ForcePathStyle: 'true',
            s3Url: `http://${s3.endpoint}`,
            checksumAlgorithm: '',
          },
        },
      });
      break;
    } catch (error) {
      if (i > 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await kube.ensure('/apis/velero.io/v1/namespaces/velero/schedules', SCHEDULE);
}
