import { sh, type ShellFragment } from '../lib/quote.js';
import { assertAbsolutePath, assertIdentifier } from '../lib/identifiers.js';
import type { Rke2Paths } from './paths.js';

/**
 * RKE2 node operations as shell fragments built from quoted arguments (design.md §4: commands
 * are data). Run them one per exec, or several in one exec with `runBatch` (batch.ts); parse
 * their output with the functions in parse.ts. Every value that reaches a command is validated
 * here first (snapshot names, paths), so bad input fails before any connection.
 */

const names = (files: readonly string[], field: string) =>
  files.map((f) => assertIdentifier('snapshotName', field, f));

/** `rke2 etcd-snapshot save --name <base>`: needs rke2-server running on this node (rke2-facts §1.4). */
export function etcdSnapshotSave(baseName: string): ShellFragment {
  return sh`rke2 etcd-snapshot save --name ${assertIdentifier('snapshotName', 'snapshot name', baseName)}`;
}

/** `rke2 etcd-snapshot ls -o json`: this node's local snapshots plus S3 (fails when S3 cannot be listed). */
export function etcdSnapshotLs(): ShellFragment {
  return sh`rke2 etcd-snapshot ls -o json`;
}

/** `rke2 etcd-snapshot delete <files>`: the local copies on this node and, with etcd-s3 on, the S3 copies. */
export function etcdSnapshotDelete(files: readonly string[]): ShellFragment {
  if (files.length === 0) throw new Error('etcd-snapshot delete needs at least one file');
  return sh`rke2 etcd-snapshot delete ${names(files, 'snapshot')}`;
}

/** `rke2 --version` (first line: `rke2 version v1.34.4+rke2r1 (<commit>)`). */
export function rke2Version(): ShellFragment {
  return sh`rke2 --version`;
}

/** The unit's ActiveState word (`active`, `activating`, `inactive`, `failed`, ...); never fails. */
export function unitState(unit: 'rke2-server' | 'rke2-agent'): ShellFragment {
  return sh`systemctl is-active ${unit} || true`;
}

/**
 * sha256 of `server/token` with trailing newlines dropped (as RKE2 reads it), computed on the
 * node: the token itself never leaves it. A restore needs the token the snapshot was taken with
 * (rke2-facts.md §2.5, §9.4), so the digest travels with the snapshot and rollback compares it.
 */
export function tokenDigest(paths: Rke2Paths): ShellFragment {
  return sh`t=$(cat ${paths.token}); printf %s "$t" | sha256sum | cut -d' ' -f1`;
}

/**
 * `<size> <sha256> <name>` for every regular file `<dir>/<prefix>*` (nothing for none): the
 * snapshot a save just made, found without knowing its node name or timestamp.
 */
export function digestByPrefix(dir: string, prefix: string): ShellFragment {
  assertAbsolutePath('snapshot dir', dir);
  assertIdentifier('snapshotName', 'snapshot name', prefix);
  return sh`for f in ${dir}/${prefix}*; do [ -f "$f" ] || continue; printf '%s %s %s\\n' "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" "\${f##*/}"; done`;
}

/** `<size> <sha256> <path>` per file, `missing - <path>` for an absent one. */
export function digestFiles(paths: readonly string[]): ShellFragment {
  paths.forEach((p) => assertAbsolutePath('file', p));
  return sh`for f in ${paths}; do if [ -f "$f" ]; then printf '%s %s %s\\n' "$(stat -c %s "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"; else printf 'missing - %s\\n' "$f"; fi; done`;
}

/** `<name>\t<size>\t<mtime>` of every regular file directly in `dir` (no server needed). */
export function listDir(dir: string): ShellFragment {
  assertAbsolutePath('dir', dir);
  return sh`[ ! -d ${dir} ] || find ${dir} -mindepth 1 -maxdepth 1 -type f -printf '%f\\t%s\\t%T@\\n'`;
}

/** Prints the file, or nothing when it does not exist (exit 0 either way). */
export function readFileIfExists(path: string): ShellFragment {
  assertAbsolutePath('file', path);
  return sh`[ ! -f ${path} ] || cat ${path}`;
}

/**
 * Writes `content` to `path` atomically (temp file + rename in the same directory, mode 0600),
 * creating the directory. The content travels base64-encoded inside the quoted script.
 */
export function writeFileAtomic(path: string, content: string): ShellFragment {
  assertAbsolutePath('file', path);
  const b64 = Buffer.from(content, 'utf8').toString('base64');
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  return sh`mkdir -p ${dir} && t=$(mktemp ${`${path}.XXXXXX`}) && printf %s ${b64} | base64 -d >"$t" && chmod 600 "$t" && mv -f "$t" ${path}`;
}

/** `rm -f` of absolute paths. */
export function removeFiles(paths: readonly string[]): ShellFragment {
  if (paths.length === 0) return sh`true`;
  paths.forEach((p) => assertAbsolutePath('file', p));
  return sh`rm -f -- ${paths}`;
}

/** The node's kubectl with the node's admin kubeconfig, bounded per request. */
export function kubectl(paths: Rke2Paths, args: ShellFragment, requestTimeoutSeconds = 30): ShellFragment {
  const t = `${Math.max(1, Math.round(requestTimeoutSeconds))}s`;
  return sh`${paths.kubectl} --kubeconfig ${paths.kubeconfig} --request-timeout=${t} ${args}`;
}
