import { InputError } from './errors.js';
import { inert } from './inert.js';

/**
 * Strict patterns for every identifier that ends up in a remote command or a path.
 * Quoting already makes injection impossible; these checks also stop path traversal
 * (`../`) and values that no real cluster would have, with a clear message, before any
 * connection is made.
 */
export const patterns = {
  /** Kubernetes node names / DNS-1123 labels (RKE2 node-name). */
  nodeName: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  /** Cluster names become label values, S3 folders and issue titles. */
  clusterName: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  /** RKE2 release: v1.34.4+rke2r1 */
  rke2Version: /^v\d+\.\d+\.\d+\+rke2r\d+$/,
  /** etcd snapshot base names and file names: `<name>-<node>-<unix ts>[.zip]`. */
  snapshotName: /^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$/,
  /** Kubernetes namespaces (DNS-1123 label). */
  namespace: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  /** Kubernetes object names (DNS-1123 subdomain). */
  objectName: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
  /** POSIX user names. */
  userName: /^[a-z_][a-z0-9_-]{0,31}$/,
  /** A label selector of `key=value` / `key!=value` / `key` terms, comma separated. */
  labelSelector: /^([A-Za-z0-9./_-]+(!?=[A-Za-z0-9._-]*)?)(,[A-Za-z0-9./_-]+(!?=[A-Za-z0-9._-]*)?)*$/,
} as const;

export type IdentifierKind = keyof typeof patterns;

/** Throws an InputError naming `field` unless `value` matches the pattern for `kind`. */
export function assertIdentifier(kind: IdentifierKind, field: string, value: string): string {
  if (!patterns[kind].test(value) || value.includes('..')) {
    throw new InputError(field, `${inert(value)} is not a valid ${describe(kind)}`);
  }
  return value;
}

function describe(kind: IdentifierKind): string {
  switch (kind) {
    case 'nodeName':
      return 'node name (lowercase letters, digits and "-", at most 63 characters)';
    case 'clusterName':
      return 'cluster name (lowercase letters, digits and "-", at most 63 characters)';
    case 'rke2Version':
      return 'RKE2 version (like v1.34.4+rke2r1)';
    case 'snapshotName':
      return 'snapshot name (letters, digits, ".", "_" and "-", no "..")';
    case 'namespace':
      return 'namespace (DNS-1123 label)';
    case 'objectName':
      return 'Kubernetes object name (DNS-1123 subdomain)';
    case 'userName':
      return 'user name';
    case 'labelSelector':
      return 'label selector (key=value terms separated by ",")';
  }
}

/** An absolute path with no `..` segment and no characters outside a conservative set. */
export function assertAbsolutePath(field: string, value: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value) || value.split('/').includes('..')) {
    throw new InputError(field, `${inert(value)} is not a safe absolute path`);
  }
  return value;
}
