import { z } from 'zod';
import { METADATA_SUFFIX } from '../s3/settings.js';

/**
 * The metadata of a snapshot taken by this toolkit (JSON, format `rke2-ops.snapshot/v1`),
 * written beside the snapshot on the master (`<snapshot dir>/../.metadata/<file>.rke2-ops.json`)
 * and in S3 (`<folder>/.metadata/<file>.rke2-ops.json`): everything a rollback needs when the
 * master's disk is gone - which file, its checksum and size, where it is, the RKE2 version of
 * every node, the token digest, the object counts a trial restore compares, the Velero backup
 * taken with it, and how it was verified. Never a secret: the token is only a sha256.
 */
export const METADATA_FORMAT = 'rke2-ops.snapshot/v1';

export const objectCountsSchema = z.object({
  nodes: z.number().int().nonnegative(),
  namespaces: z.number().int().nonnegative(),
  secrets: z.number().int().nonnegative(),
});
export type ObjectCounts = z.infer<typeof objectCountsSchema>;

export const metadataCheckSchema = z.object({
  name: z.string(),
  level: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  message: z.string(),
});

export const snapshotMetadataSchema = z
  .object({
    format: z.literal(METADATA_FORMAT),
    /** The real file name: `<name>-<node>-<unix ts>[.zip]`. */
    file: z.string(),
    /** The `--name` it was saved with: `<prefix>-<UTC stamp>-<nonce>`. */
    name: z.string(),
    prefix: z.string(),
    kind: z.enum(['pre-upgrade', 'on-demand']),
    cluster: z.string(),
    /** The master that took it (inventory name) and RKE2's node name in the file name. */
    node: z.string(),
    createdAt: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    compressed: z.boolean(),
    local: z.object({ path: z.string() }),
    s3: z
      .object({
        endpoint: z.string(),
        bucket: z.string(),
        folder: z.string(),
        region: z.string(),
        insecure: z.boolean(),
        key: z.string(),
        metadataKey: z.string(),
      })
      .nullable(),
    rke2: z.object({
      /** `rke2 --version` on the snapshot master. */
      server: z.string().nullable(),
      /** kubeletVersion of every Node (the RKE2 version it runs). */
      nodes: z.record(z.string(), z.string()),
    }),
    etcd: z.object({
      /** etcd minor that wrote the data (from the etcd static pod's image tag), e.g. `3.6`. */
      dataVersion: z.string().nullable(),
      image: z.string().nullable(),
      /** From `etcdutl snapshot status` when the restore level ran. */
      storageVersion: z.string().nullable().default(null),
      revision: z.number().nullable().default(null),
    }),
    /** sha256 of `server/token` (trailing newlines dropped) on the snapshot master. */
    tokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Object counts from the live API right before and right after the save. */
    counts: z.object({ before: objectCountsSchema, after: objectCountsSchema.nullable() }),
    velero: z
      .object({
        name: z.string(),
        namespace: z.string(),
        schedule: z.string(),
        storageLocation: z.string(),
        phase: z.string(),
      })
      .nullable(),
    verification: z.object({
      level: z.enum(['local', 's3', 'restore']),
      verified: z.boolean(),
      at: z.string(),
      checks: z.array(metadataCheckSchema),
    }),
    tool: z.object({ name: z.literal('rke2-ops'), version: z.string() }),
  })
  // Newer writers may add fields; a reader of v1 keeps them.
  .passthrough();

export type SnapshotMetadata = z.infer<typeof snapshotMetadataSchema>;

export class MetadataError extends Error {
  override name = 'MetadataError';
}

export function parseMetadata(text: string, where: string): SnapshotMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new MetadataError(`${where}: not JSON`);
  }
  const r = snapshotMetadataSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MetadataError(
      `${where}: not ${METADATA_FORMAT} metadata (${i.path.join('.') || 'document'}: ${i.message})`,
    );
  }
  return r.data;
}

export function serializeMetadata(m: SnapshotMetadata): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Local metadata path of a snapshot file. */
export function localMetadataPath(metadataDir: string, file: string): string {
  return `${metadataDir}/${file}${METADATA_SUFFIX}`;
}

/** The `3.6` of an etcd image tag like `rancher/hardened-etcd:v3.6.5-k3s1-build20251017`. */
export function etcdMinorFromImage(image: string | null | undefined): string | null {
  const m = /:v?(\d+)\.(\d+)(?:[.-]|$)/.exec(image ?? '');
  return m ? `${m[1]}.${m[2]}` : null;
}
