/**
 * SIMULATION of `rke2 etcd-snapshot save|ls|delete|prune` and of the server's scheduled
 * snapshots (rke2-facts.md §1.1-§1.8, §9.6), taking REAL etcd snapshots (`etcdctl snapshot save`
 * from the local member) and storing them in the REAL S3 server.
 *
 * The CLI is a thin client of the running server (k3s-io/k3s pkg/etcd/snapshot_handler.go): the
 * lab does the server's work in the CLI process, but the server's log lines go to the unit's
 * journal, and every subcommand needs rke2-server running (`connection refused` on :9345
 * otherwise). Server-side semantics (k3s-io/k3s pkg/etcd/snapshot.go, pkg/etcd/s3/s3.go):
 *  - With S3 on, each request first gets an S3 client: cached per configuration in the server
 *    process (built at start-up when S3 answered), otherwise created after BucketExists -
 *    failure answers 400 "failed to initialize S3 client: ..." (the CLI exits 1).
 *  - save: a failed local snapshot (ENOSPC) is logged ("Failed to take etcd snapshot") and
 *    recorded as a failed ETCDSnapshotFile; the request still succeeds with nothing created, so
 *    the CLI exits 0 with no `saved` line. A failed upload is logged ("Error received during
 *    snapshot upload to S3"), recorded as an S3 ETCDSnapshotFile with readyToUse=false and
 *    status.error, and the CLI exits 0 with only the local `saved` line.
 *  - ls lists local files and S3 (an S3 listing error fails the command).
 *  - ETCDSnapshotFile objects follow storage; failed records are kept 24 h (errorTTL).
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import {
  type NodeSimConfig,
  type RkeConfig,
  type Journal,
  RUN_DIR,
  cfgBool,
  cfgString,
  dataDir,
  nodeName,
  readPid,
  log,
  fatal,
  ensureDir,
  unitJournal,
  writeJson,
} from './common.js';
import { etcdctl, clientUrl } from './etcd.js';
import {
  s3Settings,
  upload,
  list as s3List,
  remove as s3Remove,
  objectKey,
  checkBucket,
  type S3Settings,
} from './s3.js';
import { zipOne } from '../zip.js';
import { kubeClient } from './kubelet.js';
import { currentState, mainAlive } from './unit.js';

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
const CONNECTION_REFUSED =
  'see server log for details: Post "https://127.0.0.1:9345/db/snapshot": dial tcp 127.0.0.1:9345: connect: connection refused';

interface Server {
  mainPid: number;
  j: Journal;
}

/**
 * The CLI POSTs to the local supervisor (rke2-facts.md §1.4): nothing listens on :9345 unless
 * rke2-server runs; while it is still starting the handler cannot reach etcd.
 */
function requireServer(node: NodeSimConfig): Server {
  if (node.role !== 'master' || !mainAlive('rke2-server')) fatal(CONNECTION_REFUSED);
  const mainPid = readPid('rke2-server')!;
  const j = unitJournal('rke2-server', node.name, mainPid);
  if (currentState('rke2-server').active !== 'active')
    serverError(j, 'failed to check etcd status for snapshot: context deadline exceeded');
  return { mainPid, j };
}

/** util.SendErrorWithID: the error goes to the server log, the client gets its ID. */
function serverError(j: Journal, message: string): never {
  const id = String(randomInt(0, 99999)).padStart(5, '0');
  j.error(`etcd-snapshot error ID ${id}: ${message}`);
  fatal(`see server log for details: etcd-snapshot error ID ${id}`);
}

// ---- the server's S3 client cache (k3s-io/k3s pkg/etcd/s3/s3.go Controller.GetClient) ---------
const CACHE = `${RUN_DIR}/s3-client-cache.json`;

function cacheKey(s: S3Settings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex');
}

function cached(mainPid: number): string[] {
  try {
    const c = JSON.parse(readFileSync(CACHE, 'utf8')) as { mainPid: number; keys: string[] };
    return c.mainPid === mainPid ? c.keys : [];
  } catch {
    return [];
  }
}

async function getS3Client(s: S3Settings, mainPid: number, j: Journal): Promise<void> {
  const scheme = s.insecure ? 'http://' : 'https://';
  const where = `endpoint="${scheme}${s.endpoint}" bucket="${s.bucket}" folder="${s.folder}"`;
  const keys = cached(mainPid);
  if (keys.includes(cacheKey(s))) {
    j.info(`Reusing cached S3 client for ${where}`);
    return;
  }
  j.info(`Attempting to create new S3 client for ${where}`);
  if (!s.bucket) throw new Error('s3 bucket name was not set');
  j.info(`Checking if S3 bucket ${s.bucket} exists`);
  await checkBucket(s);
  j.info(`S3 bucket ${s.bucket} exists`);
  j.info('Adding S3 client to cache');
  ensureDir(RUN_DIR);
  writeJson(CACHE, { mainPid, keys: [...keys, cacheKey(s)].slice(-5) });
}

/** A request's S3 client, or the handler's 400 answer (the CLI exits 1). */
async function s3ClientOrFail(s: S3Settings, server: Server): Promise<void> {
  try {
    await getS3Client(s, server.mainPid, server.j);
  } catch (error) {
    const msg = (error as Error).message;
    server.j.warn(`Unable to initialize S3 client: ${msg}`);
    fatal(`see server log for details: failed to initialize S3 client: ${msg}`);
  }
}

/** At start-up the server reconciles its snapshots, which creates (and caches) the S3 client. */
export async function warmS3Client(node: NodeSimConfig, cfg: RkeConfig, j: Journal): Promise<void> {
  if (!cfgBool(cfg, 'etcd-s3')) return;
  const s = s3Settings(cfg);
  try {
    await getS3Client({ ...s, timeoutMs: Math.min(s.timeoutMs, 10_000) }, process.ppid, j);
    // The cache key is the configured settings (with their own timeout).
    const keys = cached(process.ppid);
    writeJson(CACHE, { mainPid: process.ppid, keys: [...new Set([...keys, cacheKey(s)])] });
  } catch (error) {
    j.warn(`Unable to initialize S3 client: ${(error as Error).message}`);
  }
  void node;
}

interface Failure {
  kind: 'local' | 's3';
  file: string;
  message: string;
  location: string;
  s3?: S3Settings;
}

interface SaveResult {
  created: string[];
  failed: Failure[];
}

/**
 * The server's snapshot: `<name>-<node>-<unix ts>[.zip]`, uploaded when S3 is on, then local
 * and S3 retention for this name prefix (0 = none, as for CLI saves).
 */
async function takeSnapshot(
  node: NodeSimConfig,
  cfg: RkeConfig,
  server: Server,
  opts: { name: string; compress: boolean; s3: S3Settings | null; at: number; localRetention: number },
): Promise<SaveResult> {
  const { j } = server;
  const dir = snapshotDir(cfg);
  ensureDir(dir);
  const me = nodeName(cfg, node);
  const file = `${opts.name}-${me}-${opts.at}`;
  const path = `${dir}/${file}`;
  j.info(`Saving etcd snapshot to ${path}`);
  const r = etcdctl(node, clientUrl(node.address), ['snapshot', 'save', `${path}.part`], 120_000);
  if (r.status !== 0) {
    rmSync(`${path}.part`, { force: true });
    const err = (r.stderr || r.stdout)
      .trim()
      .split('\n')
      .pop()!
      .replace(/^Error: /, '');
    j.error(`Failed to take etcd snapshot: ${err}`);
    return { created: [], failed: [{ kind: 'local', file, message: err, location: '' }] };
  }
  renameSync(`${path}.part`, path);
  let final = file;
  if (opts.compress) {
    j.info(`Compressing etcd snapshot file: ${file}`);
    try {
      writeFileSync(`${path}.zip`, zipOne(file, readFileSync(path)));
    } catch (error) {
      rmSync(`${path}.zip`, { force: true });
      rmSync(path, { force: true });
      serverError(j, `failed to compress snapshot: ${(error as Error).message}`);
    }
    rmSync(path);
    final = `${file}.zip`;
    j.info(`Compressed snapshot: ${dir}/${final}`);
  }
  const result: SaveResult = { created: [final], failed: [] };
  if (opts.localRetention > 0) retainLocal(dir, opts.name, opts.localRetention, j);
  if (opts.s3) {
    const s = opts.s3;
    j.info(`Saving etcd snapshot ${final} to S3`);
    j.info(`Uploading snapshot to s3://${s.bucket}/${objectKey(s, final)}`);
    try {
      await upload(s, final, `${dir}/${final}`, me);
      j.info(`S3 upload complete for ${final}`);
      result.created.push(final);
    } catch (error) {
      const msg = (error as Error).message;
      j.error(`Error received during snapshot upload to S3: ${msg}`);
      result.failed.push({
        kind: 's3',
        file: final,
        message: msg,
        location: `s3://${s.bucket}/${objectKey(s, final)}`,
        s3: s,
      });
    }
    // Retention is applied even after a failed upload (K3s: a full bucket may be the cause).
    try {
      await retainS3(s, opts.name, j);
    } catch (error) {
      j.warn(`Failed to apply s3 snapshot retention policy: ${(error as Error).message}`);
    }
  }
  return result;
}

function retainLocal(dir: string, prefix: string, retention: number, j: Journal): void {
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`) && !f.endsWith('.part'))
    .map((f) => ({ f, ts: tsOf(f) ?? Math.floor(statSync(`${dir}/${f}`).mtimeMs / 1000) }))
    .sort((a, b) => b.ts - a.ts);
  for (const victim of files.slice(retention)) {
    j.info(`Removing local snapshot ${dir}/${victim.f}`);
    rmSync(`${dir}/${victim.f}`, { force: true });
  }
}

async function retainS3(s: S3Settings, prefix: string, j: Journal): Promise<void> {
  if (!(s.retention >= 1)) return;
  j.info(
    `Applying snapshot retention=${s.retention} to snapshots stored in s3://${s.bucket}/${objectKey(s, prefix)}`,
  );
  const objs = (await s3List(s, prefix)).sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
  for (const victim of objs.slice(s.retention)) {
    j.info(`Removing S3 snapshot: s3://${s.bucket}/${victim.key}`);
    await s3Remove(s, victim.file);
  }
}

export async function save(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const server = requireServer(node);
  const name = flagString(flags, ['name', 'etcd-snapshot-name'], 'on-demand');
  if (!NAME.test(name)) fatal(`invalid snapshot name ${JSON.stringify(name)}`);
  const compress = flagBool(
    flags,
    ['etcd-snapshot-compress', 'snapshot-compress'],
    cfgBool(cfg, 'etcd-snapshot-compress'),
  );
  const conf = withFlagOverrides(cfg, flags);
  const s3 = s3Enabled(cfg, flags) ? s3Settings(conf) : null;
  if (s3) await s3ClientOrFail(s3, server);
  // `save` forces local retention to 0 (rke2-facts.md §1.4).
  const res = await takeSnapshot(node, cfg, server, {
    name,
    compress,
    s3,
    at: Math.floor(Date.now() / 1000),
    localRetention: 0,
  });
  await recordInApi(node, cfg, flags, res.failed);
  for (const f of res.created) log.info(`Snapshot ${f} saved.`);
}

/**
 * The server's cron job (`etcd-snapshot-schedule-cron`), run by the lab at a chosen time:
 * `<etcd-snapshot-name>-<node>-<at>[.zip]` locally and in S3, with the configured retention.
 * Prints the result as JSON for the lab.
 */
export async function scheduled(node: NodeSimConfig, cfg: RkeConfig, at: number): Promise<void> {
  if (
    node.role !== 'master' ||
    !mainAlive('rke2-server') ||
    currentState('rke2-server').active !== 'active'
  ) {
    process.stdout.write(`${JSON.stringify({ skipped: 'rke2-server is not running' })}\n`);
    return;
  }
  if (cfgBool(cfg, 'etcd-disable-snapshots')) {
    process.stdout.write(`${JSON.stringify({ skipped: 'etcd-disable-snapshots' })}\n`);
    return;
  }
  const mainPid = readPid('rke2-server')!;
  const server: Server = { mainPid, j: unitJournal('rke2-server', node.name, mainPid) };
  const s3 = cfgBool(cfg, 'etcd-s3') ? s3Settings(cfg) : null;
  let s3Ok = s3;
  if (s3) {
    try {
      await getS3Client(s3, mainPid, server.j);
    } catch (error) {
      server.j.warn(`Unable to initialize S3 client: ${(error as Error).message}`);
      s3Ok = null;
    }
  }
  const res = await takeSnapshot(node, cfg, server, {
    name: cfgString(cfg, 'etcd-snapshot-name', 'etcd-snapshot'),
    compress: cfgBool(cfg, 'etcd-snapshot-compress'),
    s3: s3Ok,
    at,
    localRetention: Number(cfgString(cfg, 'etcd-snapshot-retention', '5')),
  });
  if (s3 && !s3Ok)
    res.failed.push({
      kind: 's3',
      file: res.created[0] ?? '',
      message: 'failed to initialize S3 client',
      location: '',
      s3,
    });
  await recordInApi(
    node,
    cfg,
    { _: [] },
    res.failed.filter((f) => f.file),
  );
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

const SNAPSHOT_API = '/apis/k3s.cattle.io/v1/etcdsnapshotfiles';
const STORAGE_LABEL = 'etcd.rke2.cattle.io/snapshot-storage-node';
/** K3s keeps failed snapshot records this long (errorTTL). */
const ERROR_TTL_MS = 24 * 3600_000;

interface Item {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { snapshotName: string; nodeName: string; location: string; s3?: Record<string, unknown> };
  status: {
    creationTime: string;
    readyToUse: boolean;
    size: string;
    error?: { time: string; message: string };
  };
}

function objName(kind: 'local' | 's3', file: string, node: string): string {
  const hash = createHash('sha256').update(`${kind}${file}${node}`).digest('hex').slice(0, 6);
  const base = `${kind}-${file}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return `${base}-${hash}`;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

function s3Spec(s: S3Settings): Record<string, unknown> {
  return { bucket: s.bucket, endpoint: s.endpoint, prefix: s.folder, region: s.region, insecure: s.insecure };
}

function failedItem(node: NodeSimConfig, cfg: RkeConfig, f: Failure): Item {
  const me = nodeName(cfg, node);
  const at = tsOf(f.file);
  const t = iso(new Date());
  return {
    apiVersion: 'k3s.cattle.io/v1',
    kind: 'ETCDSnapshotFile',
    metadata: {
      name: objName(f.kind, f.file, f.kind === 's3' ? 's3' : me),
      labels: { [STORAGE_LABEL]: f.kind === 's3' ? 's3' : me },
    },
    spec: {
      snapshotName: f.file,
      nodeName: f.kind === 's3' ? 's3' : me,
      location: f.location,
      ...(f.s3 ? { s3: s3Spec(f.s3) } : {}),
    },
    status: {
      creationTime: at ? iso(new Date(at * 1000)) : t,
      readyToUse: false,
      size: '0',
      error: { time: t, message: f.message },
    },
  };
}

/**
 * Keeps the ETCDSnapshotFile objects of this node's local snapshots and of S3 in step with the
 * storage, as RKE2's reconcile does (rke2-facts.md §1.7): objects whose file is gone are deleted
 * unless they record a failure younger than 24 h; S3 objects are only reconciled when the S3
 * listing worked. Best effort: without a reachable API the files still count.
 */
async function recordInApi(
  node: NodeSimConfig,
  cfg: RkeConfig,
  flags: Flags,
  failed: Failure[],
): Promise<void> {
  try {
    const kube = kubeClient(node, cfg, 3000);
    const me = nodeName(cfg, node);
    const { items: want, s3Listed } = await storageItems(node, cfg, flags, false);
    const failures = failed.map((f) => failedItem(node, cfg, f));
    const have = await kube.get<{ items: Item[] }>(SNAPSHOT_API);
    const managed = (i: Item) => {
      const where = i.metadata.labels?.[STORAGE_LABEL] ?? '';
      return where === me || (where === 's3' && s3Listed);
    };
    for (const obj of have.items.filter(managed)) {
      if (want.some((w) => w.metadata.name === obj.metadata.name)) continue;
      if (failures.some((w) => w.metadata.name === obj.metadata.name)) continue;
      const errAt = obj.status?.error?.time ? Date.parse(obj.status.error.time) : NaN;
      if (!Number.isNaN(errAt) && Date.now() - errAt < ERROR_TTL_MS) continue;
      await kube.delete(`${SNAPSHOT_API}/${obj.metadata.name}`);
    }
    for (const w of [...want, ...failures]) {
      const existing = have.items.find((h) => h.metadata.name === w.metadata.name);
      const body = {
        ...w,
        metadata: { ...w.metadata, annotations: { 'etcd.rke2.cattle.io/snapshot-token-hash': 'lab' } },
      };
      if (!existing) await kube.ensure(SNAPSHOT_API, body);
      else if (JSON.stringify(existing.status) !== JSON.stringify(w.status))
        await kube.mergePatch(`${SNAPSHOT_API}/${w.metadata.name}`, { status: w.status });
    }
  } catch (error) {
    log.warn(`Unable to reconcile ETCDSnapshotFile objects: ${(error as Error).message}`);
  }
}

/** Local files and (when S3 is on) S3 objects as ETCDSnapshotFile items. */
async function storageItems(
  node: NodeSimConfig,
  cfg: RkeConfig,
  flags: Flags,
  failOnS3: boolean,
): Promise<{ items: Item[]; s3Listed: boolean }> {
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
        metadata: { name: objName('local', f, me), labels: { [STORAGE_LABEL]: me } },
        spec: { snapshotName: f, nodeName: me, location: `file://${dir}/${f}` },
        status: { creationTime: mtimeIso(f, st.mtime), readyToUse: true, size: String(st.size) },
      });
    }
  }
  let s3Listed = false;
  if (s3Enabled(cfg, flags)) {
    const s = s3Settings(withFlagOverrides(cfg, flags));
    try {
      for (const o of await s3List(s)) {
        out.push({
          apiVersion: 'k3s.cattle.io/v1',
          kind: 'ETCDSnapshotFile',
          metadata: { name: objName('s3', o.file, 's3'), labels: { [STORAGE_LABEL]: 's3' } },
          spec: {
            snapshotName: o.file,
            nodeName: o.nodeName || 's3',
            location: `s3://${s.bucket}/${o.key}`,
            s3: s3Spec(s),
          },
          status: { creationTime: mtimeIso(o.file, o.lastModified), readyToUse: true, size: String(o.size) },
        });
      }
      s3Listed = true;
    } catch (error) {
      if (failOnS3) throw error;
    }
  }
  out.sort(
    (a, b) =>
      a.status.creationTime.localeCompare(b.status.creationTime) ||
      a.spec.location.localeCompare(b.spec.location),
  );
  return { items: out, s3Listed };
}

/** The unix timestamp RKE2 puts in a snapshot name. */
function tsOf(file: string): number | null {
  const m = /-(\d{9,11})(\.zip)?$/.exec(file);
  return m?.[1] ? Number(m[1]) : null;
}

/** RKE2 takes the creation time from the name's unix timestamp. */
function mtimeIso(file: string, fallback: Date): string {
  const ts = tsOf(file);
  return iso(ts !== null ? new Date(ts * 1000) : fallback);
}

export async function ls(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const server = requireServer(node);
  if (s3Enabled(cfg, flags)) await s3ClientOrFail(s3Settings(withFlagOverrides(cfg, flags)), server);
  let list: Item[];
  try {
    list = (await storageItems(node, cfg, flags, true)).items;
  } catch (error) {
    serverError(server.j, (error as Error).message);
  }
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
  const server = requireServer(node);
  const { j } = server;
  if (flags._.length === 0) fatal('no snapshots given for removal');
  const dir = snapshotDir(cfg);
  const useS3 = s3Enabled(cfg, flags);
  const s = s3Settings(withFlagOverrides(cfg, flags));
  if (useS3) await s3ClientOrFail(s, server);
  for (const raw of flags._) {
    const name = basename(raw);
    if (name !== raw) fatal('see server log for details: invalid snapshot name: path traversal not allowed');
    let found = false;
    if (existsSync(`${dir}/${name}`)) {
      rmSync(`${dir}/${name}`);
      j.info(`Snapshot ${name} deleted locally`);
      found = true;
    } else j.info(`Snapshot ${name} not found locally`);
    if (useS3) {
      try {
        if (await s3Remove(s, name)) {
          j.info(`Snapshot ${name} deleted from S3`);
          found = true;
        } else j.info(`Snapshot ${name} not found in S3`);
      } catch (error) {
        j.error(`Failed to delete S3 snapshot ${name}: ${(error as Error).message}`);
      }
    }
    if (found) log.info(`Snapshot ${name} deleted.`);
    else log.warn(`Snapshot ${name} not found.`);
  }
  await recordInApi(node, cfg, flags, []);
}

export async function prune(node: NodeSimConfig, cfg: RkeConfig, flags: Flags): Promise<void> {
  const server = requireServer(node);
  const prefix = flagString(flags, ['name', 'etcd-snapshot-name'], 'on-demand');
  const retention = Number(
    flagString(
      flags,
      ['snapshot-retention', 'etcd-snapshot-retention'],
      cfgString(cfg, 'etcd-snapshot-retention', '5'),
    ),
  );
  if (!Number.isInteger(retention) || retention < 1) fatal('snapshot retention must be at least 1');
  const useS3 = s3Enabled(cfg, flags);
  const s = s3Settings(withFlagOverrides(cfg, flags));
  if (useS3) await s3ClientOrFail(s, server);
  retainLocal(snapshotDir(cfg), prefix, retention, server.j);
  if (useS3) {
    try {
      await retainS3({ ...s, retention }, prefix, server.j);
    } catch (error) {
      server.j.error(`Error applying S3 snapshot retention policy: ${(error as Error).message}`);
    }
  }
  await recordInApi(node, cfg, flags, []);
}
