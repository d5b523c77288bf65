/**
 * SIMULATION of `rke2 etcd-snapshot save|ls|delete|prune` (rke2-facts.md §1.1-§1.6, §9.6),
 * taking REAL etcd snapshots (`etcdctl snapshot save` from the local member) and storing them
 * in the REAL S3 server.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import {
  type NodeSimConfig,
  type RkeConfig,
  cfgBool,
  cfgString,
  dataDir,
  nodeName,
  running,
  log,
  fatal,
  ensureDir,
} from './common.js';
import { etcdctl, clientUrl, healthy } from './etcd.js';
import { s3Settings, upload, list as s3List, remove as s3Remove, objectKey } from './s3.js';
import { zipOne } from '../zip.js';
import { kubeClient } from './kubelet.js';

export interface Flags {
  [k: string]: string | boolean | string[];
  _: string[];
}

/** Parses `--a=b`, `--a b`, `--flag`, `-o json`. Booleans: `--x`, `--x=false`. */
export function parseFlags(args: string[], booleans: string[]): Flags {
  const out: Flags = { _: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      const stripped = a.replace(/^--?/, '');
      const eq = stripped.indexOf('=');
      if (eq >= 0) out[stripped.slice(0, eq)] = stripped.slice(eq + 1);
      else if (booleans.includes(stripped)) out[stripped] = true;
      else out[stripped] = args[++i] ?? '';
    } else out._.push(a);
  }
  return out;
}

export function flagBool(flags: Flags, names: string[], fallback: boolean): boolean {
  for (const n of names) {
    const v = flags[n];
    if (v === undefined) continue;
    return v === true || v === 'true';
  }
  return fallback;
}

function flagString(flags: Flags, names: string[], fallback: string): string {
  for (const n of names) {
    const v = flags[n];
    if (typeof v === 'string') return v;
  }
  return fallback;
}

export function snapshotDir(cfg: RkeConfig): string {
  return cfgString(cfg, 'etcd-snapshot-dir', `${dataDir(cfg)}/server/db/snapshots`);
}

function s3Enabled(cfg: RkeConfig, flags: Flags): boolean {
  return flagBool(flags, ['etcd-s3', 's3'], cfgBool(cfg, 'etcd-s3'));
}

function withFlagOverrides(cfg: RkeConfig, flags: Flags): RkeConfig {
  const out: RkeConfig = { ...cfg };
  for (const [k, v] of Object.entries(flags)) {
    if (k === '_') continue;
    const key = k.startsWith('s3-') ? `etcd-${k}` : k;
    if (key.startsWith('etcd-s3-')) out[key] = v;
  }
  return out;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export async function save(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  // The CLI asks the running server over its supervisor port (§1.4): no server, no snapshot.
  if (node.role !== 'master' || !running('rke2-server') || !healthy(node, node.address)) {
    fatal(
      'see server log for details: Post "https://127.0.0.1:9345/db/snapshot": dial tcp 127.0.0.1:9345: connect: connection refused',
    );
  }
  const name = flagString(flags, ['name', 'etcd-snapshot-name'], 'on-demand');
  if (!NAME.test(name)) fatal(`invalid snapshot name ${JSON.stringify(name)}`);
  const compress = flagBool(
    flags,
    ['etcd-snapshot-compress', 'snapshot-compress'],
    cfgBool(cfg, 'etcd-snapshot-compress'),
  );
  const dir = snapshotDir(cfg);
  ensureDir(dir);
  const node_ = nodeName(cfg, node);
  const file = `${name}-${node_}-${Math.floor(Date.now() / 1000)}`;
  const path = `${dir}/${file}`;
  const r = etcdctl(node, clientUrl(node.address), ['snapshot', 'save', `${path}.part`], 120_000);
  if (r.status !== 0) {
    rmSync(`${path}.part`, { force: true });
    fatal(`etcd snapshot failed: ${(r.stderr || r.stdout).trim()}`);
  }
  renameSync(`${path}.part`, path);
  let final = file;
  if (compress) {
    writeFileSync(`${path}.zip`, zipOne(file, readFileSync(path)));
    rmSync(path);
    final = `${file}.zip`;
  }
  const saved: string[] = [final];
  const conf = withFlagOverrides(cfg, flags);
  if (s3Enabled(cfg, flags)) {
    const s = s3Settings(conf);
    log.info(`Saving etcd snapshot ${final} to S3`);
    try {
      await upload(s, final, `${dir}/${final}`, node_);
      log.info(`Uploaded snapshot to s3://${s.bucket}/${objectKey(s, final)}`);
      saved.push(final);
    } catch (error) {
      log.error(`Error received during snapshot upload to S3: ${(error as Error).message}`);
    }
  }
  for (const f of saved) log.info(`Snapshot ${f} saved.`);
  await recordInApi(node, cfg, flags);
}

const SNAPSHOT_API = '/apis/k3s.cattle.io/v1/etcdsnapshotfiles';

/**
 * Keeps the ETCDSnapshotFile objects of this node's local snapshots and of S3 in step with the
 * storage, as RKE2's snapshot controller does (rke2-facts.md §1.7). Best effort: without a
 * reachable API the files still count.
 */
async function recordInApi(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  try {
    const kube = kubeClient(node, cfg, 3000);
    const me = nodeName(cfg, node);
    const want = await items(node, cfg, flags);
    const have = await kube.get<{ items: Item[] }>(SNAPSHOT_API);
    const mine = (i: Item) =>
      ['s3', me].includes(i.metadata.labels?.['etcd.rke2.cattle.io/snapshot-storage-node'] ?? '');
    for (const obj of have.items.filter(mine)) {
      if (!want.some((w) => w.metadata.name === obj.metadata.name))
        await kube.delete(`${SNAPSHOT_API}/${obj.metadata.name}`);
    }
    for (const w of want) {
      if (!have.items.some((h) => h.metadata.name === w.metadata.name)) {
        await kube.ensure(SNAPSHOT_API, {
          ...w,
          metadata: { ...w.metadata, annotations: { 'etcd.rke2.cattle.io/snapshot-token-hash': 'lab' } },
        });
      }
    }
  } catch (error) {
    log.warn(`Unable to reconcile ETCDSnapshotFile objects: ${(error as Error).message}`);
  }
}

interface Item {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { snapshotName: string; nodeName: string; location: string; s3?: Record<string, unknown> };
  status: { creationTime: string; readyToUse: boolean; size: string };
}

function objName(kind: 'local' | 's3', file: string, node: string): string {
  const hash = createHash('sha256').update(`${kind}${file}${node}`).digest('hex').slice(0, 6);
  const base = `${kind}-${file}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return `${base}-${hash}`;
}

export async function items(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<Item[]> {
  const out: Item[] = [];
  const dir = snapshotDir(cfg);
  const me = nodeName(cfg, node);
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.part')) continue;
      const st = statSync(`${dir}/${f}`);
      if (!st.isFile()) continue;
      out.push({
        apiVersion: 'k3s.cattle.io/v1',
        kind: 'ETCDSnapshotFile',
        metadata: {
          name: objName('local', f, me),
          labels: { 'etcd.rke2.cattle.io/snapshot-storage-node': me },
        },
        spec: { snapshotName: f, nodeName: me, location: `file://${dir}/${f}` },
        status: { creationTime: mtimeIso(f, st.mtime), readyToUse: true, size: String(st.size) },
      });
    }
  }
  if (s3Enabled(cfg, flags)) {
    const s = s3Settings(withFlagOverrides(cfg, flags));
    for (const o of await s3List(s)) {
      out.push({
        apiVersion: 'k3s.cattle.io/v1',
        kind: 'ETCDSnapshotFile',
        metadata: {
          name: objName('s3', o.file, o.nodeName),
          labels: { 'etcd.rke2.cattle.io/snapshot-storage-node': 's3' },
        },
        spec: {
          snapshotName: o.file,
          nodeName: o.nodeName || 's3',
          location: `s3://${s.bucket}/${o.key}`,
          s3: {
            bucket: s.bucket,
            endpoint: s.endpoint,
            prefix: s.folder,
            region: s.region,
            insecure: s.insecure,
          },
        },
        status: { creationTime: mtimeIso(o.file, o.lastModified), readyToUse: true, size: String(o.size) },
      });
    }
  }
  out.sort(
    (a, b) =>
      a.status.creationTime.localeCompare(b.status.creationTime) ||
      a.spec.location.localeCompare(b.spec.location),
  );
  return out;
}

/** RKE2 takes the creation time from the name's unix timestamp. */
function mtimeIso(file: string, fallback: Date): string {
  const m = /-(\d{9,11})(\.zip)?$/.exec(file);
  const d = m?.[1] ? new Date(Number(m[1]) * 1000) : fallback;
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

export async function ls(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const list = await items(node, cfg, flags);
  const format = flagString(flags, ['o', 'output'], 'table');
  const doc = { apiVersion: 'k3s.cattle.io/v1', kind: 'ETCDSnapshotFileList', metadata: {}, items: list };
  if (format === 'json') process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(toYaml(doc));
  else {
    const rows = [
      ['Name', 'Location', 'Size', 'Created'],
      ...list.map((i) => [i.spec.snapshotName, i.spec.location, i.status.size, i.status.creationTime]),
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows)
      process.stdout.write(
        `${r
          .map((v, c) => v.padEnd(widths[c]!))
          .join(' ')
          .trimEnd()}\n`,
      );
  }
}

export async function del(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const dir = snapshotDir(cfg);
  const useS3 = s3Enabled(cfg, flags);
  const s = s3Settings(withFlagOverrides(cfg, flags));
  if (flags._.length === 0) fatal('no snapshots given for removal');
  for (const raw of flags._) {
    const name = basename(raw);
    let found = false;
    if (existsSync(`${dir}/${name}`)) {
      rmSync(`${dir}/${name}`);
      found = true;
    }
    if (useS3 && (await s3Remove(s, name))) found = true;
    if (found) log.info(`Snapshot ${name} deleted.`);
    else log.warn(`Snapshot ${name} not found.`);
  }
  await recordInApi(node, cfg, flags);
}

export async function prune(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const prefix = flagString(flags, ['name', 'etcd-snapshot-name'], 'on-demand');
  const retention = Number(
    flagString(
      flags,
      ['snapshot-retention', 'etcd-snapshot-retention'],
      cfgString(cfg, 'etcd-snapshot-retention', '5'),
    ),
  );
  if (!Number.isInteger(retention) || retention < 1) fatal('snapshot retention must be at least 1');
  const all = await items(node, cfg, flags);
  for (const kind of ['local', 's3'] as const) {
    const mine = all
      .filter((i) =>
        kind === 'local' ? i.spec.location.startsWith('file://') : i.spec.location.startsWith('s3://'),
      )
      .filter((i) => i.spec.snapshotName.startsWith(`${prefix}-`))
      .sort((a, b) => b.status.creationTime.localeCompare(a.status.creationTime));
    for (const victim of mine.slice(retention)) {
      if (kind === 'local') {
        log.info(`Removing local snapshot ${victim.spec.location.slice('file://'.length)}`);
        rmSync(victim.spec.location.slice('file://'.length), { force: true });
      } else {
        log.info(`Removing S3 snapshot ${victim.spec.location}`);
        await s3Remove(s3Settings(withFlagOverrides(cfg, flags)), victim.spec.snapshotName);
      }
    }
  }
  await recordInApi(node, cfg, flags);
}
