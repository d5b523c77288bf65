/**
 * SIMULATION of the parts of kube-scheduler, the kubelets and the Hetzner CSI driver / PV
 * controller that Velero restores and namespace deletion depend on, run by the lab controller
 * process (velero-controller.ts):
 *  - scheduler: a pod without `spec.nodeName` (Velero restores pods without it) is bound to a
 *    Ready node, workers first;
 *  - kubelet: on a node whose RKE2 unit runs, a pod that has no status yet is reported
 *    (pod-status.ts rules; Pending while one of its PVCs is unbound), and a pod being deleted is
 *    removed (the kubelet confirms graceful deletion) - on a dead node it stays Terminating, as
 *    on a real cluster;
 *  - provisioner (csi.hetzner.cloud, StorageClass `hcloud-volumes`, WaitForFirstConsumer): a
 *    Pending PVC used by a scheduled pod gets a new PV `pvc-<uid>` whose volume is a new
 *    directory (volumes.ts); a PV whose claim is gone is deleted with its volume
 *    (reclaimPolicy Delete, as Hetzner CSI does);
 *  - pvc-protection / pv-protection: their finalizers are released once nothing uses the object.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import type { KubeClient } from './kube-client.js';
import type { LabState } from './state.js';
import { podStatus, podBroken, type ReleaseInfo } from './pod-status.js';
import { volumePath } from './volumes.js';
import { nodeUnitRunning } from './node-lifecycle.js';

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface PodObj {
  metadata: Meta;
  spec: {
    nodeName?: string;
    containers: { name: string; image: string }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  status?: { phase?: string };
}

interface NodeObj {
  metadata: Meta;
  status?: {
    conditions?: { type: string; status: string }[];
    nodeInfo?: { kubeletVersion?: string };
    addresses?: { type: string; address: string }[];
  };
}

export interface PvcObj {
  metadata: Meta;
  spec: {
    storageClassName?: string;
    volumeName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}

interface PvObj {
  metadata: Meta;
  spec: {
    claimRef?: { namespace: string; name: string; uid?: string };
    csi?: { driver: string; volumeHandle: string };
    persistentVolumeReclaimPolicy?: string;
  };
  status?: { phase?: string };
}

const isMirror = (p: PodObj) => p.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const ready = (n: NodeObj) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

function releaseTable(labDir: string): Record<string, ReleaseInfo> {
  try {
    return (
      JSON.parse(readFileSync(join(labDir, 'release-table.json'), 'utf8')) as {
        versions: Record<string, ReleaseInfo>;
      }
    ).versions;
  } catch {
    return {};
  }
}

/** The nodes whose kubelet works: unit running and the Node Ready. */
async function liveNodes(kube: KubeClient, state: LabState): Promise<NodeObj[]> {
  const nodes = await kube.get<{ items: NodeObj[] }>('/api/v1/nodes');
  return nodes.items.filter((n) => {
    const lab = state.nodes.find((x) => x.name === n.metadata.name);
    return lab && !lab.lost && nodeUnitRunning(lab.dir, lab.role) && ready(n);
  });
}

let rr = 0;

export async function tickScheduler(kube: KubeClient, state: LabState): Promise<void> {
  const pods = await kube.get<{ items: PodObj[] }>('/api/v1/pods');
  const pending = pods.items.filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp);
  if (pending.length === 0) return;
  const live = await liveNodes(kube, state);
  const workers = live.filter((n) => state.nodes.find((x) => x.name === n.metadata.name)?.role === 'worker');
  const pool = workers.length > 0 ? workers : live;
  if (pool.length === 0) return;
  for (const p of pending) {
    const target = pool[rr++ % pool.length]!.metadata.name;
    await kube.call('POST', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: target },
    });
  }
}

export async function tickKubelets(kube: KubeClient, state: LabState, labDir: string): Promise<void> {
  const live = await liveNodes(kube, state);
  if (live.length === 0) return;
  const releases = releaseTable(labDir);
  const pods = await kube.get<{ items: PodObj[] }>('/api/v1/pods');
  const pvcs = await kube.get<{ items: PvcObj[] }>('/api/v1/persistentvolumeclaims');
  for (const n of live) {
    const name = n.metadata.name;
    const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
    const release = releases[n.status?.nodeInfo?.kubeletVersion ?? ''];
    for (const p of pods.items.filter((x) => x.spec.nodeName === name)) {
      const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
      if (p.metadata.deletionTimestamp) {
        await kube.delete(`${path}?gracePeriodSeconds=0`);
        continue;
      }
      if (p.status?.phase && p.status.phase !== 'Pending') continue;
      if (isMirror(p)) continue;
      const claims = (p.spec.volumes ?? []).flatMap((v) =>
        v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
      );
      const unbound = claims.some(
        (c) =>
          pvcs.items.find((x) => x.metadata.namespace === p.metadata.namespace && x.metadata.name === c)
            ?.status?.phase !== 'Bound',
      );
      if (unbound) continue;
      await kube.mergePatch(`${path}/status`, {
        status: podStatus(p, ip, podBroken(p.metadata.labels, release), true),
      });
    }
  }
}

function dropFinalizer(obj: { metadata: Meta }, finalizer: string): string[] {
  return (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
}

export async function tickVolumes(kube: KubeClient, labDir: string): Promise<void> {
  const [pvcs, pvs, pods] = await Promise.all([
    kube.get<{ items: PvcObj[] }>('/api/v1/persistentvolumeclaims'),
    kube.get<{ items: PvObj[] }>('/api/v1/persistentvolumes'),
    kube.get<{ items: PodObj[] }>('/api/v1/pods'),
  ]);
  const usedBy = (ns: string, claim: string) =>
    pods.items.filter(
      (p) =>
        p.metadata.namespace === ns &&
        (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim),
    );
  for (const pvc of pvcs.items) {
    const ns = pvc.metadata.namespace!;
    const path = `/api/v1/namespaces/${ns}/persistentvolumeclaims/${pvc.metadata.name}`;
    if (pvc.metadata.deletionTimestamp) {
      // pvc-protection: released when no pod uses the claim any more.
      if (
        pvc.metadata.finalizers?.includes('kubernetes.io/pvc-protection') &&
        usedBy(ns, pvc.metadata.name).length === 0
      )
        await kube.mergePatch(path, {
          metadata: { finalizers: dropFinalizer(pvc, 'kubernetes.io/pvc-protection') },
        });
      continue;
    }
    if (pvc.spec.volumeName || (pvc.spec.storageClassName ?? 'hcloud-volumes') !== 'hcloud-volumes') continue;
    // WaitForFirstConsumer: provisioned once a pod using it is scheduled.
    if (!usedBy(ns, pvc.metadata.name).some((p) => p.spec.nodeName)) continue;
    const handle = String(randomInt(100_000_000, 999_999_999));
    const pvName = `pvc-${pvc.metadata.uid}`;
    mkdirSync(volumePath(labDir, handle), { recursive: true });
    const size = pvc.spec.resources?.requests?.storage ?? '10Gi';
    await kube.ensure('/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': 'csi.hetzner.cloud' } },
      spec: {
        capacity: { storage: size },
        accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'hcloud-volumes',
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: ns,
          name: pvc.metadata.name,
          uid: pvc.metadata.uid,
        },
        csi: { driver: 'csi.hetzner.cloud', volumeHandle: handle, fsType: 'ext4' },
      },
    });
    await kube.mergePatch(`/api/v1/persistentvolumes/${pvName}/status`, { status: { phase: 'Bound' } });
    await kube.mergePatch(path, {
      metadata: {
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
          'volume.kubernetes.io/storage-provisioner': 'csi.hetzner.cloud',
        },
      },
      spec: { volumeName: pvName },
    });
    await kube.mergePatch(`${path}/status`, {
      status: {
        phase: 'Bound',
        capacity: { storage: size },
        accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
      },
    });
  }
  for (const pv of pvs.items) {
    const ref = pv.spec.claimRef;
    const path = `/api/v1/persistentvolumes/${pv.metadata.name}`;
    const claim = ref
      ? pvcs.items.find(
          (c) =>
            c.metadata.namespace === ref.namespace &&
            c.metadata.name === ref.name &&
            (!ref.uid || c.metadata.uid === ref.uid),
        )
      : undefined;
    if (pv.metadata.deletionTimestamp) {
      if (!claim && pv.metadata.finalizers?.includes('kubernetes.io/pv-protection'))
        await kube.mergePatch(path, {
          metadata: { finalizers: dropFinalizer(pv, 'kubernetes.io/pv-protection') },
        });
      continue;
    }
    if (!ref || claim) continue;
    // Released with reclaimPolicy Delete: the CSI driver deletes the volume, then the PV.
    if ((pv.spec.persistentVolumeReclaimPolicy ?? 'Delete') !== 'Delete') continue;
    if (pv.spec.csi?.driver === 'csi.hetzner.cloud')
      rmSync(volumePath(labDir, pv.spec.csi.volumeHandle), { recursive: true, force: true });
    await kube.mergePatch(path, {
      metadata: { finalizers: dropFinalizer(pv, 'kubernetes.io/pv-protection') },
    });
    await kube.delete(path);
  }
}
