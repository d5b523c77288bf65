import { randomBytes } from 'node:crypto';
import { patterns } from '../lib/identifiers.js';

/**
 * Snapshot names. RKE2 names a snapshot file `<name>-<node>-<unix ts>` (+ `.zip` when
 * compressed; rke2-facts.md §1.1), so two saves with the same `--name` on the same node in the
 * same second would produce the same file: each save of this toolkit gets a name of its own,
 * `<prefix>-<UTC timestamp>-<6 random hex>`, e.g. `pre-upgrade-20270101T120000Z-3fa9c1`. The
 * strict pattern also keeps retention to this prefix: `pre-upgrade-x-...` or a scheduled
 * `etcd-snapshot-...` never matches prefix `pre-upgrade`.
 */
export const STAMP = /\d{8}T\d{6}Z/;
const NONCE_HEX = 6;

/** `20270101T120000Z` for a time. */
export function utcStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The `--name` for one save: `<prefix>-<UTC stamp>-<nonce>`. */
export function snapshotBaseName(prefix: string, at: Date, nonce = randomBytes(8).toString('hex')): string {
  return `${prefix}-${utcStamp(at)}-${nonce.slice(0, NONCE_HEX)}`;
}

export interface ParsedSnapshotFile {
  file: string;
  /** Unix seconds from the name (RKE2's creation time). */
  unixTs: number;
  compressed: boolean;
  /** `<name>-<node>` - the part before the timestamp. */
  stem: string;
}

/** Any RKE2 snapshot file name: `<stem>-<unix ts>[.zip]`; null for other files. */
export function parseSnapshotFile(file: string): ParsedSnapshotFile | null {
  const m = /^(.+)-(\d{9,11})(\.zip)?$/.exec(file);
  if (!m || !patterns.snapshotName.test(file)) return null;
  return { file, stem: m[1]!, unixTs: Number(m[2]), compressed: Boolean(m[3]) };
}

export interface OwnSnapshotFile extends ParsedSnapshotFile {
  prefix: string;
  /** `<prefix>-<stamp>-<nonce>`: the `--name` it was saved with. */
  baseName: string;
  stamp: string;
  node: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A file saved by this toolkit with `prefix` (strict: other prefixes never match). */
export function parseOwnSnapshotFile(file: string, prefix: string): OwnSnapshotFile | null {
  const m = new RegExp(
    `^(${escape(prefix)}-(${STAMP.source})-[0-9a-f]{${NONCE_HEX}})-([a-z0-9][-a-z0-9.]*)-(\\d{9,11})(\\.zip)?$`,
  ).exec(file);
  if (!m) return null;
  return {
    file,
    prefix,
    baseName: m[1]!,
    stamp: m[2]!,
    node: m[3]!,
    stem: `${m[1]!}-${m[3]!}`,
    unixTs: Number(m[4]),
    compressed: Boolean(m[5]),
  };
}

/** The file RKE2 made for `--name <base>` on `node`: `<base>-<node>-<ts>[.zip]`. */
export function fileMatchesBase(file: string, baseName: string): boolean {
  return file.startsWith(`${baseName}-`) && parseSnapshotFile(file) !== null;
}

export type SnapshotOrigin = 'toolkit' | 'scheduled' | 'other';

/**
 * Who made a snapshot: this toolkit (the strict `<prefix>-<stamp>-<nonce>` pattern, any prefix),
 * RKE2's schedule (`<etcd-snapshot-name>-<node>-<ts>`, default name `etcd-snapshot`), or
 * something else (on-demand saves by hand, other tools).
 */
export function snapshotOrigin(file: string, scheduledName = 'etcd-snapshot'): SnapshotOrigin {
  if (new RegExp(`^.+-${STAMP.source}-[0-9a-f]{${NONCE_HEX}}-.+-\\d{9,11}(\\.zip)?$`).test(file))
    return 'toolkit';
  if (file.startsWith(`${scheduledName}-`) && parseSnapshotFile(file)) return 'scheduled';
  return 'other';
}
