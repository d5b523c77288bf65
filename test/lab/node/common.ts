/**
 * SIMULATION - shared helpers of the lab's node-side RKE2 stand-ins (rke2, systemctl,
 * rke2-killall.sh, rke2-install.sh). These run *inside* a lab node's mount namespace, where
 * /etc/rancher, /var/lib/rancher and /usr/local/bin are the node's own directories, so every
 * path below is the real RKE2 path. Behaviour follows /work/shared/docs/rke2-facts.md; each
 * command cites the section it follows.
 */
import {
  readFileSync,
  readdirSync,
  existsSync,
  mkdirSync,
  openSync,
  writeFileSync,
  appendFileSync,
  renameSync,
} from 'node:fs';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { readTiming, type LabTiming } from '../timing.js';

/** Written by the lab at node creation: what the node needs to know that RKE2 would derive itself. */
export interface NodeSimConfig {
  lab: string;
  labDir: string;
  name: string;
  role: 'master' | 'worker';
  index: number;
  address: string;
  masters: { name: string; address: string }[];
  tools: { etcd: string; etcdctl: string; etcdutl: string; kubeApiserver: string; kubectl: string };
  pki: {
    caCert: string;
    serverCert: string;
    serverKey: string;
    adminCert: string;
    adminKey: string;
    saKey: string;
    saPub: string;
  };
  releaseTablePath: string;
  /** Failure switches of the lab (file written by scenarios), e.g. the Velero result. */
  settingsPath: string;
  /** Legacy: the lab's activation safety cap when timing.json does not give one. */
  startTimeoutSec?: number;
}

export const NODE_CONFIG_PATH = '/etc/rancher/rke2-lab/node.json';
export const CONFIG_YAML = '/etc/rancher/rke2/config.yaml';
/** Lab-only run state of the simulated services (pid files, unit state). */
export const RUN_DIR = '/var/lib/rancher/rke2/lab/run';

export function loadNode(): NodeSimConfig {
  return JSON.parse(readFileSync(NODE_CONFIG_PATH, 'utf8')) as NodeSimConfig;
}

export type RkeConfig = Record<string, unknown>;

/**
 * config.yaml, then every `*.yaml`/`*.yml` in config.yaml.d in name order, as RKE2 reads them
 * (k3s pkg/configfilearg): a later file overrides a key, `<key>+` appends to a list.
 */
export function loadConfigYaml(): RkeConfig {
  const files = existsSync(CONFIG_YAML) ? [CONFIG_YAML] : [];
  const dropins = `${CONFIG_YAML}.d`;
  if (existsSync(dropins))
    files.push(
      ...readdirSync(dropins, { withFileTypes: true })
        .filter((e) => !e.isDirectory() && /\.ya?ml$/i.test(e.name))
        .map((e) => e.name)
        .sort()
        .map((name) => `${dropins}/${name}`),
    );
  const cfg: RkeConfig = {};
  const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
  for (const file of files) {
    const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (!parsed || typeof parsed !== 'object') continue;
    for (const [rawKey, value] of Object.entries(parsed as RkeConfig)) {
      const append = rawKey.endsWith('+');
      const key = append ? rawKey.slice(0, -1) : rawKey;
      cfg[key] = append && key in cfg ? [...asList(cfg[key]), ...asList(value)] : value;
    }
  }
  return cfg;
}

export function cfgString(cfg: RkeConfig, key: string, fallback = ''): string {
  const v = cfg[key];
  return v === undefined || v === null ? fallback : String(v);
}

export function cfgBool(cfg: RkeConfig, key: string, fallback = false): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  return v === true || v === 'true';
}

export function dataDir(cfg: RkeConfig): string {
  return cfgString(cfg, 'data-dir', '/var/lib/rancher/rke2');
}

export function nodeName(cfg: RkeConfig, node: NodeSimConfig): string {
  return cfgString(cfg, 'node-name', node.name);
}

/** The installed version is carried by the /usr/local/bin/rke2 wrapper, like a real binary. */
export function installedVersion(): string {
  return process.env.RKE2_LAB_VERSION ?? readInstalledVersion();
}

export function readInstalledVersion(): string {
  const text = readFileSync('/usr/local/bin/rke2', 'utf8');
  const m = /RKE2_LAB_VERSION=(\S+)/.exec(text);
  if (!m?.[1]) throw new Error('rke2 is not installed');
  return m[1];
}

export interface ReleaseTable {
  /** version -> status; "bad" versions break the listed system components once nodes run them. */
  versions: Record<string, { status: 'good' | 'bad'; breaks?: string[]; etcdVersion?: string }>;
}

export function loadReleaseTable(node: NodeSimConfig): ReleaseTable {
  return JSON.parse(readFileSync(node.releaseTablePath, 'utf8')) as ReleaseTable;
}

/** The lab's timing knobs (`<lab dir>/timing.json`, test/lab/timing.ts), read on every use. */
export function loadTiming(node: NodeSimConfig): LabTiming {
  return readTiming(node.labDir);
}

/** Lab-injected faults of this node (scenarios peer-stuck-join, reset-hang). */
export interface NodeFaults {
  /** etcd joins, but the server never gets its API up: the unit stays activating. */
  stuckJoin?: boolean;
  /** `rke2 server --cluster-reset` restores, then never exits. */
  resetHang?: boolean;
}

export const FAULTS_PATH = '/etc/rancher/rke2-lab/faults.json';

export function loadFaults(): NodeFaults {
  try {
    return JSON.parse(readFileSync(FAULTS_PATH, 'utf8')) as NodeFaults;
  } catch {
    return {};
  }
}

/** Atomic JSON write (a reader never sees half a file). */
export function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, path);
}

export function loadSettings(node: NodeSimConfig): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(node.settingsPath, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

// ---- logging in logrus text style (what RKE2 prints on stderr) --------------------------------
const started = Date.now();
function stamp(): string {
  return String(Math.floor((Date.now() - started) / 1000)).padStart(4, '0');
}
export const log = {
  info: (msg: string) => process.stderr.write(`INFO[${stamp()}] ${msg}\n`),
  warn: (msg: string) => process.stderr.write(`WARN[${stamp()}] ${msg}\n`),
  error: (msg: string) => process.stderr.write(`ERRO[${stamp()}] ${msg}\n`),
};

// ---- the unit journal (what `journalctl -u <unit>` shows) -------------------------------------
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function journalPath(unit: string): string {
  return `${RUN_DIR}/${unit}.journal`;
}

/** journald's short format: `Dec 01 10:00:01 <host> <ident>[<pid>]: <message>`. */
export function journalLine(
  host: string,
  ident: string,
  pid: number,
  message: string,
  at = new Date(),
): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stampText = `${MONTHS[at.getUTCMonth()]} ${p(at.getUTCDate())} ${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())}`;
  return `${stampText} ${host} ${ident}[${pid}]: ${message}\n`;
}

/**
 * A journal writer for one unit. RKE2 runs under systemd without a TTY, so logrus prints
 * `time="..." level=info msg="..."` lines (what `journalctl -u rke2-server` shows).
 */
export function unitJournal(unit: string, host: string, pid = process.ppid) {
  ensureDir(RUN_DIR);
  const write = (level: string, msg: string) => {
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    appendFileSync(
      journalPath(unit),
      journalLine(host, 'rke2', pid, `time="${t}" level=${level} msg=${JSON.stringify(msg)}`),
    );
  };
  return {
    info: (msg: string) => write('info', msg),
    warn: (msg: string) => write('warning', msg),
    error: (msg: string) => write('error', msg),
    fatal: (msg: string) => write('fatal', msg),
    systemd: (msg: string) => appendFileSync(journalPath(unit), journalLine(host, 'systemd', 1, msg)),
  };
}
export type Journal = ReturnType<typeof unitJournal>;

export class FatalError extends Error {}

/** logrus Fatal: message on stderr, exit 1. */
export function fatal(msg: string): never {
  throw new FatalError(msg);
}

// ---- processes ---------------------------------------------------------------------------------
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function pidFile(name: string): string {
  return `${RUN_DIR}/${name}.pid`;
}

export function readPid(name: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile(name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function alive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie does not count - but only once its whole thread group is gone: the leader of a
  // multi-threaded process (kube-apiserver, etcd: Go) shows `Z` while its other threads are
  // still exiting, and their shared fd table (the listening sockets) is released only by the
  // last one. Treating that leader as dead let a killed API server's port stay open.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (!/\) Z /.test(stat)) return true;
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

export function running(name: string): boolean {
  return alive(readPid(name));
}

/**
 * Starts a daemon in its own session (it survives the SSH session that started it, like a
 * static pod survives its kubelet), output to a log file under the lab run dir.
 */
export function daemon(name: string, cmd: string, args: string[], argv0?: string, logPath?: string): number {
  ensureDir(RUN_DIR);
  const out = logPath ?? `${RUN_DIR}/${name}.log`;
  const fd = openAppend(out);
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    ...(argv0 ? { argv0 } : {}),
  });
  child.unref();
  if (!child.pid) throw new Error(`cannot start ${name}`);
  writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

function openAppend(path: string): number {
  return openSync(path, 'a');
}

export function killPid(name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  const pid = readPid(name);
  if (!alive(pid)) return false;
  try {
    process.kill(pid!, signal);
  } catch {
    return false;
  }
  return true;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(
  what: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 200,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
}

/**
 * Waits until pid is gone (its sockets closed). A SIGKILLed kube-apiserver can take seconds to
 * exit on a loaded 2-core machine, so the default is generous; a process still there after it
 * is an error, not something to continue past silently.
 */
export async function waitGone(pid: number | null, timeoutMs = 60_000): Promise<void> {
  if (!pid) return;
  if (!(await waitFor(() => !alive(pid), timeoutMs, 50)))
    throw new Error(`process ${pid} did not exit within ${timeoutMs} ms`);
}
