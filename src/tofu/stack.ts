import {
  child,
  isObject,
  marked,
  type Change,
  type Json,
  type PlanJson,
  type ResourceChange,
} from './plan-json.js';
import { canonicalJson } from './hash.js';

/**
 * What matters in a plan for an RKE2 cluster on Hetzner, beyond the counts: an RKE2 version
 * change (the upgrade workflow snapshots first), masters replaced or destroyed (master-0 above
 * all: it is the initial server and an etcd member), load balancer or firewall changes on the
 * control-plane ports, and backups being switched off.
 *
 * Resources are recognised by type (`hcloud_server`, `hcloud_load_balancer*`,
 * `hcloud_firewall*`) and by what they carry (labels `role`, `rke2-initial-server`, names
 * `<cluster>-master-<n>`), so a configuration that models the same shapes with
 * `terraform_data` (the tests do) is read the same way. Values marked sensitive are never
 * read for a message.
 */
export type Severity = 'critical' | 'warning' | 'notice';

export type WarningCode =
  | 'master-0-replaced'
  | 'master-0-destroyed'
  | 'master-replaced'
  | 'master-destroyed'
  | 'worker-replaced'
  | 'control-plane-ports'
  | 'control-plane-lb'
  | 'backup-disabled'
  | 'rke2-downgrade'
  | 'rke2-minor-skip'
  | 'rke2-version-mixed';

export interface StackWarning {
  severity: Severity;
  code: WarningCode;
  /** The resource (or `output.<name>`) concerned. */
  address: string;
  message: string;
}

export interface Rke2Upgrade {
  from: string;
  to: string;
  direction: 'upgrade' | 'downgrade';
  /** Where the change was seen: `<address>.<attribute path>` or `output.<name>.<path>`. */
  sources: string[];
}

type Path = (string | number)[];

// --- reading values safely --------------------------------------------------------------------

/** The attributes of a resource: terraform_data stand-ins carry theirs in `input`. */
function attributes(
  rc: ResourceChange,
  side: 'before' | 'after',
): { value: Json | undefined; mask: Json | undefined; prefix: Path } {
  const value = rc.change[side];
  const mask = side === 'before' ? rc.change.before_sensitive : rc.change.after_sensitive;
  if (rc.type === 'terraform_data' && isObject(value) && isObject(value.input ?? null))
    return { value: value.input, mask: child(mask, 'input'), prefix: ['input'] };
  return { value, mask, prefix: [] };
}

function readString(value: Json | undefined, mask: Json | undefined, path: Path): string | undefined {
  if (marked(mask, path)) return undefined;
  let node = value;
  for (const key of path) node = child(node, key);
  return typeof node === 'string' ? node : undefined;
}

function pathText(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

function actionOf(change: Pick<Change, 'actions'>): 'create' | 'update' | 'delete' | 'replace' | 'other' {
  const a = change.actions;
  if (a.includes('delete') && a.includes('create')) return 'replace';
  if (a.length === 1 && (a[0] === 'create' || a[0] === 'update' || a[0] === 'delete')) return a[0];
  return 'other';
}

// --- servers -----------------------------------------------------------------------------------

const MASTER_NAME = /(^|[-_])(master|masters|control[-_]?plane|controlplane)([-_]|$)/;
const WORKER_NAME = /(^|[-_])(worker|workers|agent|agents)([-_]|$)/;

interface ServerIdentity {
  role: 'master' | 'worker';
  initial: boolean;
  name?: string;
}

function serverIdentity(rc: ResourceChange): ServerIdentity | null {
  if (rc.mode !== 'managed' || (rc.type !== 'hcloud_server' && rc.type !== 'terraform_data')) return null;
  const side = rc.change.before !== null && rc.change.before !== undefined ? 'before' : 'after';
  const { value, mask } = attributes(rc, side);
  const role = readString(value, mask, ['labels', 'role']);
  const initialLabel = readString(value, mask, ['labels', 'rke2-initial-server']);
  const name = readString(value, mask, ['name']);
  // A terraform_data models a server only by what it carries (labels, a `<cluster>-master-<n>`
  // name): the module's own step resources (`upgrade_master`, `node_channel_master`) are named
  // after masters but replacing them replaces no server.
  const byResourceName = rc.type === 'hcloud_server';
  const masterByName =
    (byResourceName && MASTER_NAME.test(rc.name)) || (name !== undefined && /-master-\d+$/.test(name));
  const isMaster = role === 'master' || initialLabel === 'true' || masterByName;
  const isWorker =
    !isMaster &&
    (role === 'worker' || (byResourceName && WORKER_NAME.test(rc.name)) || /-worker-\d+$/.test(name ?? ''));
  if (!isMaster && !isWorker) return null;
  const initial =
    isMaster &&
    (initialLabel === 'true' ||
      (name !== undefined && /-master-0$/.test(name)) ||
      (initialLabel === undefined && name === undefined && (rc.index === 0 || rc.index === '0')));
  return { role: isMaster ? 'master' : 'worker', initial, ...(name ? { name } : {}) };
}

function serverWarnings(rc: ResourceChange): StackWarning[] {
  const action = actionOf(rc.change);
  if (action !== 'replace' && action !== 'delete') return [];
  const id = serverIdentity(rc);
  if (!id) return [];
  const label = `${rc.address}${id.name ? ` (${id.name})` : ''}`;
  const reasons = (rc.change.replace_paths ?? []).map((p) => pathText(p as Path).replace(/^\./, ''));
  const because = reasons.length ? `, forced by a change of ${reasons.join(', ')}` : '';
  if (id.role === 'worker') {
    if (action !== 'replace') return [];
    return [
      {
        severity: 'notice',
        code: 'worker-replaced',
        address: rc.address,
        message: `worker ${label} will be replaced${because}: its pods are evicted and its local data is lost.`,
      },
    ];
  }
  if (id.initial) {
    return [
      {
        severity: 'critical',
        code: action === 'replace' ? 'master-0-replaced' : 'master-0-destroyed',
        address: rc.address,
        message:
          `master-0 ${label} will be ${action === 'replace' ? 'REPLACED' : 'DESTROYED'}${because}: it is the ` +
          'initial server (the others join through it) and holds an etcd member and the local snapshots. ' +
          'Take and verify a snapshot first; an RKE2 upgrade must never replace a server.',
      },
    ];
  }
  return [
    {
      severity: 'warning',
      code: action === 'replace' ? 'master-replaced' : 'master-destroyed',
      address: rc.address,
      message:
        `master ${label} will be ${action === 'replace' ? 'REPLACED' : 'DESTROYED'}${because}: etcd loses a member ` +
        `${action === 'replace' ? 'until the new server joins' : 'for good (keep an odd number of masters for quorum)'}. ` +
        'Take and verify a snapshot first.',
    },
  ];
}

// --- load balancers and firewalls ----------------------------------------------------------------

const CONTROL_PLANE_PORTS: Record<number, string> = {
  6443: 'Kubernetes API',
  9345: 'RKE2 supervisor',
  2379: 'etcd client',
  2380: 'etcd peer',
};
const PORT_KEYS = new Set(['port', 'listen_port', 'destination_port', 'ports']);
const WORLD = new Set(['0.0.0.0/0', '::/0']);

function isNetworkEdge(rc: ResourceChange): boolean {
  if (rc.mode !== 'managed') return false;
  if (rc.type.startsWith('hcloud_load_balancer') || rc.type.startsWith('hcloud_firewall')) return true;
  return rc.type === 'terraform_data' && /load_?balancer|(^|_)lbs?(_|$)|firewall/.test(rc.name);
}

function isControlPlaneEdge(rc: ResourceChange, value: Json | undefined, mask: Json | undefined): boolean {
  if (/control_?plane|kube_api|supervisor/.test(rc.name)) return true;
  return readString(value, mask, ['labels', 'role']) === 'control-plane';
}

/** The control-plane ports a port value covers: 6443, "2379-2380", "any". */
function portsCovered(value: Json): number[] {
  const all = Object.keys(CONTROL_PLANE_PORTS).map(Number);
  if (typeof value === 'number') return all.filter((p) => p === value);
  if (typeof value !== 'string') return [];
  const text = value.trim();
  if (text === 'any') return all;
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return [];
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  return all.filter((p) => p >= lo && p <= hi);
}

interface PortObject {
  text: string;
  ports: number[];
  world: boolean;
}

/** Every object in a value that names a port (a firewall rule, an LB service or its health check). */
function portObjects(value: Json | undefined, mask: Json | undefined, into: PortObject[] = []): PortObject[] {
  if (value === undefined || value === null || mask === true) return into;
  if (Array.isArray(value)) {
    value.forEach((v, i) => portObjects(v, child(mask, i), into));
    return into;
  }
  if (!isObject(value)) return into;
  const ports = new Set<number>();
  for (const [k, v] of Object.entries(value)) {
    if (!PORT_KEYS.has(k) || marked(mask, [k])) continue;
    const values = Array.isArray(v) ? v : [v];
    for (const item of values) portsCovered(item).forEach((p) => ports.add(p));
  }
  if (ports.size) {
    const sources = child(value, 'source_ips');
    const world = Array.isArray(sources) && sources.some((s) => typeof s === 'string' && WORLD.has(s));
    into.push({ text: canonicalJson(value), ports: [...ports].sort((a, b) => a - b), world });
  }
  for (const [k, v] of Object.entries(value))
    if (isObject(v) || Array.isArray(v)) portObjects(v, child(mask, k), into);
  return into;
}

function edgeWarnings(rc: ResourceChange): StackWarning[] {
  if (!isNetworkEdge(rc)) return [];
  const action = actionOf(rc.change);
  if (action !== 'update' && action !== 'replace' && action !== 'delete') return [];
  const before = attributes(rc, 'before');
  const after = attributes(rc, 'after');
  const beforeObjects = portObjects(before.value, before.mask);
  const afterObjects = action === 'delete' ? [] : portObjects(after.value, after.mask);
  const beforeTexts = new Set(beforeObjects.map((o) => o.text));
  const afterTexts = new Set(afterObjects.map((o) => o.text));
  const removed = beforeObjects.filter((o) => !afterTexts.has(o.text));
  const added = afterObjects.filter((o) => !beforeTexts.has(o.text));
  const touched = new Set([...removed, ...added].flatMap((o) => o.ports));
  const kind = rc.type.includes('firewall') || /firewall/.test(rc.name) ? 'firewall' : 'load balancer';
  const out: StackWarning[] = [];
  if (touched.size) {
    const ports = [...touched].sort((a, b) => a - b).map((p) => `${p} (${CONTROL_PLANE_PORTS[p]})`);
    const exposed = added.filter((o) => o.world && o.ports.some((p) => p !== 6443));
    const verb =
      action === 'update' ? 'changes' : action === 'replace' ? 'is replaced, with' : 'is destroyed, with';
    out.push({
      severity: exposed.length ? 'critical' : 'warning',
      code: 'control-plane-ports',
      address: rc.address,
      message:
        `${kind} ${rc.address} ${verb} rules for control-plane port(s) ${ports.join(', ')}: ` +
        (exposed.length
          ? 'etcd or the RKE2 supervisor becomes reachable from anywhere (0.0.0.0/0 or ::/0) - never expose them publicly.'
          : 'API access, node joins or etcd traffic may break; check the rule set before applying.'),
    });
  } else if (
    (action === 'replace' || action === 'delete') &&
    isControlPlaneEdge(rc, before.value, before.mask)
  ) {
    out.push({
      severity: 'warning',
      code: 'control-plane-lb',
      address: rc.address,
      message:
        `control-plane ${kind} resource ${rc.address} will be ${action === 'replace' ? 'replaced' : 'destroyed'}: ` +
        'the API endpoint or the join address (6443/9345) changes or disappears while nodes use it.',
    });
  }
  return out;
}

// --- backups ------------------------------------------------------------------------------------

const BACKUP_KEY = /etcd[-_]?(backup|s3|snapshot)|velero|backup/i;

function enabled(value: Json | undefined): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (isObject(value) && 'enabled' in value) return value.enabled === true;
  if (typeof value === 'string') return value !== '' && value !== 'false';
  return true;
}

function backupPaths(
  before: Json | undefined,
  after: Json | undefined,
  unknown: Json | undefined,
  path: Path,
  into: string[],
): void {
  if (!isObject(before)) return;
  for (const [k, b] of Object.entries(before)) {
    const p = [...path, k];
    if (marked(unknown, p)) continue;
    const a = child(after ?? null, k);
    if (BACKUP_KEY.test(k)) {
      if (enabled(b) && !enabled(a)) into.push(pathText(p).replace(/^\./, ''));
    } else if (isObject(b)) backupPaths(b, a, unknown, p, into);
  }
}

function backupWarnings(address: string, change: Change): StackWarning[] {
  const action = actionOf(change);
  if (action === 'delete' && BACKUP_KEY.test(address)) {
    return [
      {
        severity: 'warning',
        code: 'backup-disabled',
        address,
        message: `${address} (a backup component) will be destroyed: check etcd snapshots and Velero backups still run.`,
      },
    ];
  }
  if (action !== 'update' && action !== 'replace') return [];
  const paths: string[] = [];
  // Only names and on/off states are read, never a value: sensitivity does not matter here.
  backupPaths(change.before, change.after, change.after_unknown, [], paths);
  return paths.map((p) => ({
    severity: 'warning' as const,
    code: 'backup-disabled' as const,
    address,
    message:
      `backups switched off: ${address} ${p} goes from enabled to disabled. Without etcd snapshots in S3 and ` +
      'Velero backups there is nothing to roll back to; the upgrade gate needs a verified snapshot.',
  }));
}

// --- RKE2 version --------------------------------------------------------------------------------

const VERSION = /^v(\d+)\.(\d+)\.(\d+)\+rke2r(\d+)$/;
const INSTALL_VERSION = /INSTALL_RKE2_VERSION=['"]?(v\d+\.\d+\.\d+\+rke2r\d+)/;

interface VersionChange {
  from: string;
  to: string;
  source: string;
}

function versionChanges(
  prefix: string,
  before: Json | undefined,
  after: Json | undefined,
  change: Change,
  path: Path,
  into: VersionChange[],
): void {
  const sensitive =
    marked(change.before_sensitive, path) ||
    marked(change.after_sensitive, path) ||
    marked(change.after_unknown, path);
  if (sensitive) return;
  if (typeof before === 'string' && typeof after === 'string') {
    const last = path.at(-1);
    const parent = path.at(-2);
    const isVersionKey =
      (typeof last === 'string' && /^rke2[-_]?version$/i.test(last)) ||
      (last === 'version' && parent === 'rke2');
    let from: string | undefined;
    let to: string | undefined;
    if (isVersionKey && VERSION.test(before) && VERSION.test(after)) [from, to] = [before, after];
    else {
      from = INSTALL_VERSION.exec(before)?.[1];
      to = INSTALL_VERSION.exec(after)?.[1];
    }
    if (from && to && from !== to) into.push({ from, to, source: `${prefix}${pathText(path)}` });
    return;
  }
  if (isObject(before) && isObject(after)) {
    for (const k of Object.keys(before))
      versionChanges(prefix, before[k], after[k], change, [...path, k], into);
  } else if (Array.isArray(before) && Array.isArray(after)) {
    before.forEach((b, i) => versionChanges(prefix, b, after[i], change, [...path, i], into));
  }
}

function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a)!.slice(1).map(Number);
  const pb = VERSION.exec(b)!.slice(1).map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

function upgradeFrom(changes: VersionChange[]): { upgrade: Rke2Upgrade | null; warnings: StackWarning[] } {
  if (!changes.length) return { upgrade: null, warnings: [] };
  const groups = new Map<string, VersionChange[]>();
  for (const c of changes) {
    const key = `${c.from} -> ${c.to}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const ranked = [...groups.values()].sort((a, b) => b.length - a.length);
  const main = ranked[0]!;
  const { from, to } = main[0]!;
  const direction = compareVersions(to, from) > 0 ? 'upgrade' : 'downgrade';
  const upgrade: Rke2Upgrade = { from, to, direction, sources: main.map((c) => c.source) };
  const warnings: StackWarning[] = [];
  const where = main[0]!.source;
  if (direction === 'downgrade') {
    warnings.push({
      severity: 'critical',
      code: 'rke2-downgrade',
      address: where,
      message:
        `RKE2 goes DOWN from ${from} to ${to}: RKE2 cannot be downgraded in place. To go back, use the rollback ` +
        'action (binary downgrade plus a restore of the snapshot taken before the upgrade).',
    });
  } else {
    const minorFrom = Number(VERSION.exec(from)![2]);
    const minorTo = Number(VERSION.exec(to)![2]);
    if (minorTo - minorFrom > 1)
      warnings.push({
        severity: 'warning',
        code: 'rke2-minor-skip',
        address: where,
        message:
          `RKE2 jumps from 1.${minorFrom} to 1.${minorTo}: Kubernetes upgrades the control plane one minor ` +
          'version at a time; upgrade through each minor release.',
      });
  }
  if (ranked.length > 1)
    warnings.push({
      severity: 'warning',
      code: 'rke2-version-mixed',
      address: where,
      message: `the plan changes RKE2 versions inconsistently: ${ranked
        .map((g) => `${g[0]!.from} -> ${g[0]!.to} (${g.map((c) => c.source).join(', ')})`)
        .join('; ')}.`,
    });
  return { upgrade, warnings };
}

// --- all together --------------------------------------------------------------------------------

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, notice: 2 };

export function stackFindings(plan: PlanJson): { rke2Upgrade: Rke2Upgrade | null; warnings: StackWarning[] } {
  const warnings: StackWarning[] = [];
  const versions: VersionChange[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== 'managed') continue;
    warnings.push(...serverWarnings(rc), ...edgeWarnings(rc), ...backupWarnings(rc.address, rc.change));
    const action = actionOf(rc.change);
    if (action === 'update' || action === 'replace')
      versionChanges(rc.address, rc.change.before, rc.change.after, rc.change, [], versions);
  }
  for (const [name, change] of Object.entries(plan.output_changes ?? {})) {
    warnings.push(...backupWarnings(`output.${name}`, change));
    if (actionOf(change) === 'update')
      versionChanges(`output.${name}`, change.before, change.after, change, [], versions);
  }
  const { upgrade, warnings: versionWarnings } = upgradeFrom(versions);
  warnings.push(...versionWarnings);
  warnings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { rke2Upgrade: upgrade, warnings };
}
