import { z } from 'zod';
import { inertText } from '../lib/inert.js';

/** Parsers for what the commands in commands.ts print. */

/** Files named by `Snapshot <file> saved.` lines (one per location that worked, rke2-facts §1.1). */
export function savedFiles(stderr: string): string[] {
  return [...stderr.matchAll(/Snapshot (\S+) saved\./g)].map((m) => m[1]!);
}

/** Files named by `Snapshot <file> deleted.` lines of `etcd-snapshot delete` (`not found.` lines are not). */
export function deletedFiles(stderr: string): string[] {
  return [...stderr.matchAll(/Snapshot (\S+) deleted\./g)].map((m) => m[1]!);
}

/** `v1.34.4+rke2r1` from `rke2 version v1.34.4+rke2r1 (abc)`; null when the output has none. */
export function parseRke2Version(stdout: string): string | null {
  return /\bv\d+\.\d+\.\d+\+rke2r\d+\b/.exec(stdout)?.[0] ?? null;
}

export interface SnapshotListEntry {
  file: string;
  storage: 'local' | 's3';
  /** `file:///...` or `s3://bucket/key`. */
  location: string;
  /** Local path (file://) or S3 key (s3://bucket/<key>). */
  path: string;
  /** RKE2's node name for local files; `s3` (or the uploading node) for S3 objects. */
  node: string;
  size: number;
  createdAt: string | null;
  readyToUse: boolean;
  error?: string;
}

const item = z.object({
  metadata: z.object({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  spec: z.object({
    snapshotName: z.string(),
    location: z.string().default(''),
    nodeName: z.string().default(''),
  }),
  status: z
    .object({
      size: z.union([z.string(), z.number()]).optional(),
      creationTime: z.string().optional(),
      readyToUse: z.boolean().optional(),
      error: z.object({ message: z.string().optional() }).optional(),
    })
    .default({}),
});
const list = z.object({ items: z.array(item).default([]) });

export class ParseError extends Error {
  override name = 'ParseError';
}

/**
 * `rke2 etcd-snapshot ls -o json` and `kubectl get etcdsnapshotfiles -o json`: both are lists of
 * ETCDSnapshotFile items (rke2-facts.md §1.5, §1.7); failed records (readyToUse false, with an
 * error) only exist in the latter.
 */
export function parseSnapshotList(stdout: string, what = 'etcd-snapshot ls'): SnapshotListEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new ParseError(
      `${what} did not print JSON: ${inertText(stdout.trim().slice(0, 200) || 'nothing')}`,
    );
  }
  const parsed = list.safeParse(raw);
  if (!parsed.success) throw new ParseError(`${what}: unexpected JSON (${parsed.error.issues[0]?.message})`);
  return parsed.data.items.map((i) => {
    const loc = i.spec.location;
    const s3 =
      loc.startsWith('s3://') || i.metadata?.labels?.['etcd.rke2.cattle.io/snapshot-storage-node'] === 's3';
    const path = loc.startsWith('file://')
      ? loc.slice('file://'.length)
      : loc.startsWith('s3://')
        ? loc.slice('s3://'.length).split('/').slice(1).join('/')
        : '';
    return {
      file: i.spec.snapshotName,
      storage: s3 ? 's3' : 'local',
      location: loc,
      path,
      node: i.spec.nodeName,
      size: Number(i.status.size ?? 0),
      createdAt: i.status.creationTime ?? null,
      readyToUse: i.status.readyToUse ?? false,
      ...(i.status.error?.message ? { error: i.status.error.message } : {}),
    };
  });
}

export interface FileDigest {
  /** File name (digestByPrefix) or path (digestFiles). */
  name: string;
  size: number;
  sha256: string;
}

/** Lines of `<size> <sha256> <name>`; `missing - <path>` lines are returned separately. */
export function parseDigests(stdout: string): { found: FileDigest[]; missing: string[] } {
  const found: FileDigest[] = [];
  const missing: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+|missing) ([0-9a-f]{64}|-) (.+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'missing') missing.push(m[3]!);
    else found.push({ size: Number(m[1]), sha256: m[2]!, name: m[3]! });
  }
  return { found, missing };
}

export interface DirEntry {
  name: string;
  size: number;
  mtime: Date;
}

/** `listDir` output. */
export function parseDirListing(stdout: string): DirEntry[] {
  return stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((p) => p.length === 3 && p[0])
    .map(([name, size, mtime]) => ({
      name: name!,
      size: Number(size),
      mtime: new Date(Number(mtime) * 1000),
    }));
}
