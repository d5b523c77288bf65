import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../lib/errors.js';
import { inert } from '../lib/inert.js';
import { checkSshAccess, type SshAccessResult } from '../ssh/access.js';
import { digestFiles, rke2Version, tokenDigest } from '../rke2/commands.js';
import { parseDigests, parseRke2Version } from '../rke2/parse.js';
import { resolveSnapshot, s3KeyOf } from '../snapshot/catalog.js';
import type { SnapshotMetadata } from '../snapshot/metadata.js';
import { fanOut } from '../ssh/fanout.js';
import { fail, type RollbackContext } from './context.js';
import type { PreflightCheck, PreflightNode, RestoreSource } from './types.js';

/**
 * Everything a rollback must know BEFORE anything is stopped (after killall nothing can be
 * asked: `etcd-snapshot ls` needs a running server): every node accepts the pinned host key;
 * the snapshot resolves (a name, or latest-pre-upgrade: the marker or S3 metadata, never merely
 * the newest file) and has metadata; its sha256 matches on master-0, else the S3 copy is
 * downloaded here and verified; every master's token digest equals the snapshot's; the version
 * each node runs. Reads only - a refusal leaves every node as it was.
 */
export interface PreflightResult {
  ssh: SshAccessResult[];
  checks: PreflightCheck[];
  nodes: PreflightNode[];
  file: string;
  resolvedFrom: string;
  metadata: SnapshotMetadata;
  source: RestoreSource;
  version: string;
}

const P = 'preflight';

export async function preflight(ctx: RollbackContext, checks: PreflightCheck[]): Promise<PreflightResult> {
  const { config, deps } = ctx;
  const check = (c: PreflightCheck) => {
    checks.push(c);
    const line = `${c.status.toUpperCase().padEnd(4)} ${c.name}${c.node ? ` (${c.node})` : ''}: ${c.message}`;
    if (c.status === 'fail') deps.logger.error(line);
    else deps.logger.info(line);
  };

  // 1. Every node, pinned host key, before anything else.
  const ssh = await checkSshAccess(config.nodes, ctx.pool);
  const bad = ssh.filter((s) => !s.ok);
  for (const s of ssh)
    check({ name: 'ssh', node: s.node, status: s.ok ? 'pass' : 'fail', message: s.message });
  if (config.skipped.length)
    check({
      name: 'skipped nodes',
      status: 'skip',
      message: `left out on purpose: ${config.skipped.join(', ')}`,
    });
  if (bad.length)
    fail(
      P,
      bad.map((b) => b.node).join(', '),
      `not every node can be reached with its pinned host key: ${bad.map((b) => `${b.node}: ${b.message}`).join('; ')}`,
      'nothing was stopped. Fix SSH to these nodes (host_keys / known-hosts, the key, the node), or skip a lost worker with skip-nodes',
    );

  // 2. The snapshot and its metadata.
  const m0 = ctx.master0;
  const shell0 = await ctx.shell(m0, P);
  let resolved;
  try {
    resolved = await resolveSnapshot(config.snapshot, {
      cluster: config.cluster,
      shell: shell0,
      paths: config.paths,
      bucket: ctx.bucket,
      secrets: deps.secrets,
    });
  } catch (error) {
    return fail(
      P,
      m0.name,
      `cannot resolve snapshot ${inert(config.snapshot)}: ${errorMessage(error)}`,
      'nothing was stopped. List the snapshots (rke2-ops snapshot list) and name one',
    );
  }
  const { file, metadata } = resolved;
  if (!metadata)
    fail(
      P,
      m0.name,
      `snapshot ${file} has no rke2-ops metadata (on ${m0.name} or in S3): its checksum, token digest and RKE2 version are unknown`,
      'nothing was stopped. Roll back to a snapshot taken by the snapshot action, or verify this one first (rke2-ops snapshot verify)',
    );
  if (metadata.cluster !== config.cluster)
    fail(
      P,
      m0.name,
      `snapshot ${file} belongs to cluster ${metadata.cluster}, not ${config.cluster}`,
      'nothing was stopped. Name a snapshot of this cluster',
    );
  check({
    name: 'snapshot',
    status: 'pass',
    message: `${file} (${resolved.source}), taken ${metadata.createdAt}, ${metadata.kind}`,
  });
  const version = metadata.rke2.server ?? Object.values(metadata.rke2.nodes)[0];
  if (!version)
    fail(
      P,
      m0.name,
      `the metadata of ${file} records no RKE2 version`,
      'nothing was stopped. Re-take the snapshot with the snapshot action',
    );

  // 3. Per node, one exec each: the RKE2 version, and on masters the token digest; the file's digest on master-0.
  const localPath = `${config.paths.snapshotDir}/${file}`;
  const answers = await fanOut(
    config.nodes,
    (n) =>
      ctx.batch(
        n,
        P,
        [
          { key: 'version', command: rke2Version() },
          ...(n.role === 'master' ? [{ key: 'token', command: tokenDigest(config.paths) }] : []),
          ...(n === m0 ? [{ key: 'digest', command: digestFiles([localPath]) }] : []),
        ],
        60_000,
        { concurrent: true },
      ),
    { concurrency: 16 },
  );
  const nodes: PreflightNode[] = [];
  let local: { size: number; sha256: string } | null = null;
  for (const [i, n] of config.nodes.entries()) {
    const a = answers[i]!;
    if (!a.ok) fail(P, n.name, a.error, 'nothing was stopped. Check the node and run again');
    const r = a.value;
    const current = parseRke2Version(r.version!.stdout);
    const pn: PreflightNode = {
      node: n.name,
      role: n.role,
      reachable: true,
      version: current,
      target: version,
      reinstall: current !== version,
      message: current === version ? `runs ${version}` : `runs ${current ?? 'no rke2'}: reinstall ${version}`,
    };
    if (r.token) {
      pn.tokenMatches = r.token.stdout.trim() === metadata.tokenSha256;
      check({
        name: 'token',
        node: n.name,
        status: pn.tokenMatches ? 'pass' : 'fail',
        message: pn.tokenMatches
          ? 'server/token matches the snapshot'
          : `server/token differs from the one ${file} was taken with: the restored bootstrap data could not be decrypted`,
      });
    }
    if (r.digest) local = parseDigests(r.digest.stdout).found[0] ?? null;
    nodes.push(pn);
  }
  const wrongToken = nodes.filter((n) => n.tokenMatches === false);
  if (wrongToken.length)
    fail(
      P,
      wrongToken.map((n) => n.node).join(', '),
      `server/token on ${wrongToken.map((n) => n.node).join(', ')} differs from the snapshot's (sha256 ${metadata.tokenSha256.slice(0, 12)}...)`,
      'nothing was stopped. Restore the original server/token (rke2-facts §2.5) or choose a snapshot taken with this token',
    );

  // 4. The bytes: on master-0, else S3 (downloaded here and verified).
  let source: RestoreSource;
  if (local && local.sha256 === metadata.sha256 && local.size === metadata.size) {
    source = { kind: 'local', path: localPath };
    check({
      name: 'sha256',
      node: m0.name,
      status: 'pass',
      message: `${localPath} matches the metadata (${metadata.sha256.slice(0, 12)}...)`,
    });
  } else {
    const why = local
      ? `${localPath} is damaged (sha256 ${local.sha256.slice(0, 12)}..., ${local.size} bytes)`
      : `${localPath} is missing`;
    if (!ctx.bucket)
      fail(
        P,
        m0.name,
        `${why} and there is no S3 copy to use (no etcd_s3 or no S3 credentials)`,
        'nothing was stopped. Give the S3 credentials, or name another snapshot',
      );
    const key = s3KeyOf(ctx.bucket, file);
    const dir = mkdtempSync(join(deps.tempDir(), 'rke2ops-rollback-'));
    try {
      const got = await ctx.bucket.download(key, join(dir, 'snapshot'));
      if (got.sha256 !== metadata.sha256 || got.size !== metadata.size)
        fail(
          P,
          's3',
          `${why}, and the S3 copy s3://${ctx.bucket.settings.bucket}/${key} does not match the metadata either (sha256 ${got.sha256.slice(0, 12)}..., ${got.size} bytes)`,
          'nothing was stopped. Name another snapshot (rke2-ops snapshot list)',
        );
    } catch (error) {
      if (error instanceof Error && error.name === 'RollbackError') throw error;
      fail(
        P,
        's3',
        `${why}, and the S3 copy cannot be read: ${errorMessage(error)}`,
        'nothing was stopped. Check S3 and the credentials, or name another snapshot',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    source = { kind: 's3', file, key, movedAsideLocal: Boolean(local) };
    check({
      name: 'sha256',
      node: m0.name,
      status: 'pass',
      message: `${why}: the S3 copy ${key} matches the metadata; master-0 restores it from S3`,
    });
  }
  return { ssh, checks, nodes, file, resolvedFrom: resolved.source, metadata, source, version };
}
