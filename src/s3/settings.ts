import { posix } from 'node:path';
import type { Inventory } from '../inventory/schema.js';

/**
 * Where the etcd snapshots live in S3 and how to reach them, as RKE2 uploads them (rke2-facts.md
 * §1.3, §6.3, §8): the endpoint is a host[:port] without a scheme (RKE2's `etcd-s3-endpoint`),
 * `insecure` means plain HTTP, the key of a snapshot is `path.Join(folder, file)`. The keys are
 * the action's own secret inputs; the inventory never holds them.
 */
export interface S3Location {
  /** host[:port], no scheme (e.g. `fsn1.your-objectstorage.com`). */
  endpoint: string;
  bucket: string;
  /** Key prefix (`etcd-s3-folder`); '' for the bucket root. */
  folder: string;
  region: string;
  /** Plain HTTP (`etcd-s3-insecure`). */
  insecure: boolean;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Settings extends S3Location {
  credentials: S3Credentials;
  /** Limit for one request (connect + answer), so a black-holed endpoint cannot stall a run. */
  requestTimeoutMs?: number;
}

/** The endpoint as a URL for the SDK: `https://host[:port]`, `http://` when insecure. */
export function endpointUrl(location: Pick<S3Location, 'endpoint' | 'insecure'>): string {
  return `${location.insecure ? 'http' : 'https'}://${location.endpoint}`;
}

/** The inventory's `etcd_s3` block (null when the cluster uploads no snapshots). */
export function locationFromInventory(inventory: Inventory): S3Location | null {
  const s = inventory.etcd_s3;
  if (!s) return null;
  return { endpoint: s.endpoint, bucket: s.bucket, folder: s.folder, region: s.region, insecure: s.insecure };
}

/** Go's path.Join(folder, ...parts) as K3s builds keys: `a/` + `f` -> `a/f`, '' + `f` -> `f`. */
function join(folder: string, ...parts: string[]): string {
  const joined = posix.join(folder || '.', ...parts);
  return joined.startsWith('./') ? joined.slice(2) : joined;
}

/** `s3://<bucket>/<folder>/<file>`: the key of a snapshot file (K3s s3.go Upload). */
export function snapshotKey(location: Pick<S3Location, 'folder'>, file: string): string {
  return join(location.folder, file);
}

/**
 * The key of this toolkit's metadata for a snapshot: `<folder>/.metadata/<file>.rke2-ops.json`.
 * Why there: RKE2 lists every object under the folder as a snapshot (recursively, K3s
 * ListSnapshots) except those whose parent directory is `.metadata`, and its own optional
 * metadata is `.metadata/<file>` - a different name, which RKE2 only ever reads, attaches and
 * deletes for an existing snapshot of exactly that name. So this object is never mistaken for
 * a snapshot, never counted by RKE2's retention and never overwritten by RKE2.
 */
export function metadataKey(location: Pick<S3Location, 'folder'>, file: string): string {
  return join(location.folder, '.metadata', `${file}${METADATA_SUFFIX}`);
}

export const METADATA_SUFFIX = '.rke2-ops.json';

/** The folder's prefix for listings: `<folder>/`, or '' at the bucket root. */
export function folderPrefix(location: Pick<S3Location, 'folder'>): string {
  const f = join(location.folder);
  return f === '.' || f === '' ? '' : `${f.replace(/\/+$/, '')}/`;
}
