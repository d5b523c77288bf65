/**
 * Volume data in the lab: each PersistentVolume the lab's provisioner creates (the Hetzner CSI
 * driver's stand-in, velero-controller.ts) is a directory `<lab dir>/volumes/<volumeHandle>/`,
 * like a Hetzner Volume behind its PV - outside etcd, so an etcd restore brings back PVC/PV
 * objects that still point at the volumes' CURRENT data (rke2-facts.md §5.4). Tests read and
 * change a PVC's content through `lab.readVolume` / `lab.writeVolume`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { KubeClient } from './kube-client.js';

/** File path (relative to the volume root) -> UTF-8 content. */
export type VolumeFiles = Record<string, string>;

export function volumePath(labDir: string, handle: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(handle)) throw new Error(`invalid volume handle ${JSON.stringify(handle)}`);
  return join(labDir, 'volumes', handle);
}

export function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

export function readDir(root: string): VolumeFiles {
  const out: VolumeFiles = {};
  for (const f of listFiles(root)) out[f] = readFileSync(join(root, f), 'utf8');
  return out;
}

export function writeDir(root: string, files: VolumeFiles, replace: boolean): void {
  if (replace) rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const p = resolve(root, name);
    if (!p.startsWith(`${resolve(root)}/`))
      throw new Error(`file ${JSON.stringify(name)} is outside the volume`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

interface PvcObj {
  spec?: { volumeName?: string };
  status?: { phase?: string };
}
interface PvObj {
  spec?: { csi?: { volumeHandle?: string } };
}

/** The directory behind a PVC (through its bound PV), or an error naming what is missing. */
export async function pvcVolume(kube: KubeClient, labDir: string, ns: string, pvc: string): Promise<string> {
  const claim = await kube.getOrNull<PvcObj>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${pvc}`);
  if (!claim) throw new Error(`no PVC ${ns}/${pvc}`);
  const pvName = claim.spec?.volumeName;
  if (!pvName) throw new Error(`PVC ${ns}/${pvc} is not bound (phase ${claim.status?.phase ?? 'Pending'})`);
  const pv = await kube.getOrNull<PvObj>(`/api/v1/persistentvolumes/${pvName}`);
  const handle = pv?.spec?.csi?.volumeHandle;
  if (!handle) throw new Error(`PV ${pvName} of PVC ${ns}/${pvc} does not exist`);
  const dir = volumePath(labDir, handle);
  if (!existsSync(dir)) throw new Error(`the volume ${handle} behind PVC ${ns}/${pvc} was deleted`);
  return dir;
}

export async function readVolume(
  kube: KubeClient,
  labDir: string,
  ns: string,
  pvc: string,
): Promise<VolumeFiles> {
  return readDir(await pvcVolume(kube, labDir, ns, pvc));
}

export async function writeVolume(
  kube: KubeClient,
  labDir: string,
  ns: string,
  pvc: string,
  files: VolumeFiles,
  opts: { replace?: boolean } = {},
): Promise<void> {
  writeDir(await pvcVolume(kube, labDir, ns, pvc), files, opts.replace ?? false);
}
