import pLimit from 'p-limit';
import { sh } from '../lib/quote.js';
import { errorMessage } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { RemoteShell } from '../ssh/types.js';
import { runBatch } from '../rke2/batch.js';
import { listDir, readFileIfExists } from '../rke2/commands.js';
import { parseSnapshotFile, snapshotOrigin, type SnapshotOrigin } from '../rke2/names.js';
import { parseDirListing } from '../rke2/parse.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { SnapshotStore } from '../s3/client.js';
import { folderPrefix, metadataKey, METADATA_SUFFIX, snapshotKey } from '../s3/settings.js';
import { S3Error } from '../s3/errors.js';
import { localMetadataPath, parseMetadata, type SnapshotMetadata } from './metadata.js';

/**
 * The snapshot catalog: what a person picks a rollback target from, and how `latest-pre-upgrade`
 * resolves. Read WITHOUT `rke2 etcd-snapshot ls`, which needs a running server (after a bad
 * upgrade it may not run) and fails when S3 cannot be listed: each master's snapshot dir and
 * metadata files over SSH, and the S3 folder directly from the runner.
 */
export interface CatalogLocation {
  storage: 'local' | 's3';
  /** Master name (local) or `s3`. */
  node: string;
  /** Path on the node, or the S3 key. */
  path: string;
  size: number;
}

export interface CatalogEntry {
  file: string;
  origin: SnapshotOrigin;
  /** From the name's unix timestamp. */
  createdAt: string;
  locations: CatalogLocation[];
  metadata?: SnapshotMetadata;
  /** From the metadata: true/false; null when there is no metadata (not taken by this toolkit, or unknown). */
  verified: boolean | null;
  verifiedLevel?: string;
  /** The snapshot `latest-pre-upgrade` resolves to. */
  latestPreUpgrade: boolean;
  /** Masters whose server/last-pre-upgrade-snapshot names it. */
  markedOn: string[];
}

export interface MasterListing {
  node: string;
  files: { name: string; size: number }[];
  metadata: SnapshotMetadata[];
  marker: string | null;
  error?: string;
}

/** One exec per master: snapshot dir listing, this toolkit's metadata files, the marker. */
export async function listMaster(
  shell: RemoteShell,
  paths: Rke2Paths,
  secrets?: SecretRegistry,
): Promise<MasterListing> {
  const node = shell.target.name;
  const r = await runBatch(
    shell,
    [
      { key: 'files', command: listDir(paths.snapshotDir) },
      {
        key: 'meta',
        command: sh`for f in ${paths.metadataDir}/*${METADATA_SUFFIX}; do [ -f "$f" ] || continue; printf '%s\\n' "$(base64 -w0 <"$f")"; done`,
      },
      { key: 'marker', command: readFileIfExists(paths.lastPreUpgradeMarker) },
    ],
    { concurrent: true, timeoutMs: 60_000, ...(secrets ? { secrets } : {}) },
  );
  const metadata: SnapshotMetadata[] = [];
  for (const line of r.meta!.stdout.split('\n').filter(Boolean)) {
    try {
      metadata.push(
        parseMetadata(Buffer.from(line, 'base64').toString('utf8'), `${node}:${paths.metadataDir}`),
      );
    } catch {
      /* a foreign or damaged file: not ours to judge here */
    }
  }
  return {
    node,
    files:
      r.files!.code === 0
        ? parseDirListing(r.files!.stdout).map((e) => ({ name: e.name, size: e.size }))
        : [],
    metadata,
    marker: r.marker!.stdout.trim() || null,
    ...(r.files!.code !== 0 ? { error: inertText(r.files!.stderr.trim(), 300) } : {}),
  };
}

export interface S3Listing {
  files: { name: string; key: string; size: number }[];
  metadata: SnapshotMetadata[];
}

/**
 * The folder's snapshots (keys not under a `.metadata/` directory, as RKE2 lists them) and this
 * toolkit's metadata objects.
 */
export async function listS3(bucket: SnapshotStore, signal?: AbortSignal): Promise<S3Listing> {
  const prefix = folderPrefix(bucket.settings);
  const objects = await bucket.list(prefix, signal);
  const files: S3Listing['files'] = [];
  const metaKeys: string[] = [];
  for (const o of objects) {
    const rest = o.key.slice(prefix.length);
    const parts = rest.split('/');
    const name = parts.at(-1) ?? '';
    if (parts.at(-2) === '.metadata') {
      if (name.endsWith(METADATA_SUFFIX)) metaKeys.push(o.key);
    } else if (parts.length === 1 && o.size > 0 && parseSnapshotFile(name))
      files.push({ name, key: o.key, size: o.size });
  }
  const limit = pLimit(8);
  const metadata = (
    await Promise.all(
      metaKeys.map((k) =>
        limit(async () => {
          try {
            return parseMetadata(await bucket.getText(k, signal), `s3://${bucket.settings.bucket}/${k}`);
          } catch {
            return null;
          }
        }),
      ),
    )
  ).filter((m): m is SnapshotMetadata => m !== null);
  return { files, metadata };
}

const createdAt = (file: string, meta?: SnapshotMetadata) => {
  const ts = parseSnapshotFile(file)?.unixTs;
  return meta?.createdAt ?? (ts ? new Date(ts * 1000).toISOString() : '');
};

/** Merges per-master and S3 listings into one entry per file, newest first, the rollback target marked. */
export function buildCatalog(
  masters: MasterListing[],
  s3: S3Listing | null,
  opts: { cluster: string; markerMaster: string; scheduledName?: string },
): CatalogEntry[] {
  const byFile = new Map<string, CatalogEntry>();
  const entry = (file: string) => {
    let e = byFile.get(file);
    if (!e) {
      e = {
        file,
        origin: snapshotOrigin(file, opts.scheduledName),
        createdAt: '',
        locations: [],
        verified: null,
        latestPreUpgrade: false,
        markedOn: [],
      };
      byFile.set(file, e);
    }
    return e;
  };
  for (const m of masters) {
    for (const f of m.files) {
      if (!parseSnapshotFile(f.name)) continue;
      entry(f.name).locations.push({ storage: 'local', node: m.node, path: f.name, size: f.size });
    }
  }
  for (const f of s3?.files ?? [])
    entry(f.name).locations.push({ storage: 's3', node: 's3', path: f.key, size: f.size });
  // Metadata: S3's copy first (it survives a lost disk), else a master's.
  for (const meta of [...(s3?.metadata ?? []), ...masters.flatMap((m) => m.metadata)]) {
    if (meta.cluster !== opts.cluster) continue;
    const e = byFile.get(meta.file);
    if (e && !e.metadata) e.metadata = meta;
  }
  for (const m of masters) if (m.marker && byFile.has(m.marker)) byFile.get(m.marker)!.markedOn.push(m.node);
  for (const e of byFile.values()) {
    e.createdAt = createdAt(e.file, e.metadata);
    e.verified = e.metadata ? e.metadata.verification.verified : null;
    if (e.metadata) e.verifiedLevel = e.metadata.verification.level;
  }
  const list = [...byFile.values()].sort((a, b) =>
    a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.file < b.file ? 1 : -1,
  );
  const target = latestPreUpgradeOf(list, opts.markerMaster);
  if (target) target.latestPreUpgrade = true;
  return list;
}

/**
 * `latest-pre-upgrade`: the file the marker master's server/last-pre-upgrade-snapshot names
 * (written only after a verified pre-upgrade save), else the newest pre-upgrade snapshot whose
 * metadata says verified - never merely the newest file: scheduled snapshots taken after an
 * upgrade are newer.
 */
export function latestPreUpgradeOf(list: CatalogEntry[], markerMaster: string): CatalogEntry | undefined {
  const marked = list.find((e) => e.markedOn.includes(markerMaster) && e.locations.length > 0);
  if (marked) return marked;
  return list.find(
    (e) => e.metadata?.kind === 'pre-upgrade' && e.verified === true && e.locations.length > 0,
  );
}

export interface ResolvedSnapshot {
  file: string;
  metadata: SnapshotMetadata | null;
  /** Where the answer came from. */
  source: 'name' | 'marker' | 's3-metadata' | 'local-metadata';
}

export class ResolveError extends Error {
  override name = 'ResolveError';
}

/**
 * Resolves a snapshot reference (a file name or `latest-pre-upgrade`) and reads its metadata:
 * from S3 when a bucket is given (it survives the master's disk), else from the master. Works
 * with the master's rke2-server stopped, and with the master unreachable when S3 is given.
 */
export async function resolveSnapshot(
  ref: string,
  sources: {
    cluster: string;
    shell?: RemoteShell | null;
    paths: Rke2Paths;
    bucket?: SnapshotStore | null;
    secrets?: SecretRegistry;
    signal?: AbortSignal;
  },
): Promise<ResolvedSnapshot> {
  let file = ref;
  let source: ResolvedSnapshot['source'] = 'name';
  let local: MasterListing | null = null;
  if (sources.shell) {
    try {
      local = await listMaster(sources.shell, sources.paths, sources.secrets);
    } catch (error) {
      if (!sources.bucket)
        throw new ResolveError(
          `cannot read the snapshots on ${sources.shell.target.name}: ${errorMessage(error)}`,
        );
    }
  }
  let s3: S3Listing | null = null;
  if (ref === 'latest-pre-upgrade') {
    if (local?.marker) {
      file = local.marker;
      source = 'marker';
    } else {
      if (sources.bucket) s3 = await listS3(sources.bucket, sources.signal);
      const candidates = [...(s3?.metadata ?? []), ...(local?.metadata ?? [])]
        .filter((m) => m.cluster === sources.cluster && m.kind === 'pre-upgrade' && m.verification.verified)
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
      if (!candidates[0])
        throw new ResolveError(
          `no pre-upgrade snapshot is recorded for ${sources.cluster}: no server/last-pre-upgrade-snapshot on the master and no verified pre-upgrade metadata${sources.bucket ? ' in S3' : ''}`,
        );
      file = candidates[0].file;
      source = s3?.metadata.includes(candidates[0]) ? 's3-metadata' : 'local-metadata';
    }
  }
  const metadata = await readMetadata(file, { ...sources, local });
  return { file, metadata, source };
}

/** The metadata of `file`: S3's copy when a bucket is given, else the master's; null when neither has one. */
export async function readMetadata(
  file: string,
  sources: {
    shell?: RemoteShell | null;
    paths: Rke2Paths;
    bucket?: SnapshotStore | null;
    local?: MasterListing | null;
    signal?: AbortSignal;
    secrets?: SecretRegistry;
  },
): Promise<SnapshotMetadata | null> {
  if (sources.bucket) {
    const key = metadataKey(sources.bucket.settings, file);
    try {
      return parseMetadata(
        await sources.bucket.getText(key, sources.signal),
        `s3://${sources.bucket.settings.bucket}/${key}`,
      );
    } catch (error) {
      if (!(error instanceof S3Error && error.kind === 'not-found') && !sources.shell) throw error;
    }
  }
  const fromListing = sources.local?.metadata.find((m) => m.file === file);
  if (fromListing) return fromListing;
  if (sources.shell && !sources.local) {
    const path = localMetadataPath(sources.paths.metadataDir, file);
    const r = await runBatch(sources.shell, [{ key: 'm', command: readFileIfExists(path) }], {
      timeoutMs: 30_000,
      ...(sources.secrets ? { secrets: sources.secrets } : {}),
    });
    if (r.m!.code === 0 && r.m!.stdout.trim())
      return parseMetadata(r.m!.stdout, `${sources.shell.target.name}:${path}`);
  }
  return null;
}

/** The S3 key of a snapshot file in a bucket's folder. */
export const s3KeyOf = (bucket: SnapshotStore, file: string) => snapshotKey(bucket.settings, file);
