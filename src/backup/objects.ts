import { SnapshotBucket } from '../s3/client.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { BackupS3 } from './config.js';

/**
 * The little of S3 the freshness check needs, as a parameter of the core (the action, the CLI
 * and the tests share it; a unit test hands in a map).
 */
export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface ObjectStore {
  /** Every object under `prefix` (all pages). */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  getText(bucket: string, key: string): Promise<string>;
  /** Streams the object to `dest` (the restore drill), returning what arrived. */
  download(bucket: string, key: string, dest: string): Promise<{ size: number; sha256: string }>;
}

/** A store that will not answer must fail the check in seconds, not hang the schedule. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The toolkit's S3 client (src/s3: path-style, Ceph-compatible checksums, errors naming the
 * operation, bucket and key), one per bucket: the snapshots' and Velero's may differ.
 */
export function s3ObjectStore(s: BackupS3, secrets?: SecretRegistry): ObjectStore & { close(): void } {
  const buckets = new Map<string, SnapshotBucket>();
  const bucket = (name: string): SnapshotBucket => {
    let b = buckets.get(name);
    if (!b) {
      b = new SnapshotBucket(
        {
          endpoint: s.endpoint,
          insecure: s.insecure,
          region: s.region,
          bucket: name,
          folder: '',
          credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
        },
        secrets,
      );
      buckets.set(name, b);
    }
    return b;
  };
  return {
    async list(name, prefix) {
      return (await bucket(name).list(prefix)).map((o) => ({
        key: o.key,
        size: o.size,
        ...(o.lastModified ? { lastModified: o.lastModified } : {}),
      }));
    },
    getText: (name, key) => bucket(name).getText(key),
    async download(name, key, dest) {
      const got = await bucket(name).download(key, dest);
      return { size: got.size, sha256: got.sha256 };
    },
    close: () => buckets.forEach((b) => b.close()),
  };
}
