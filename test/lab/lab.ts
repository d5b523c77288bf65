/**
 * The lab: a multi-node RKE2-like cluster on one machine (design.md §8). Public interface used
 * by the other engineers' tests and the demo - keep it stable (documented in README.md).
 *
 *   const lab = await createLab({ masters: 3, workers: 3 });
 *   lab.inventory / lab.inventoryPath / lab.privateKeyPath / lab.s3 ...
 *   await lab.applyScenario('bad-upgrade');
 *   await lab.destroy();
 *
 * Real: sshd per node, etcd 3.6 members, kube-apiserver v1.34 on them, kubectl, S3 (s3rver).
 * Simulated (node/*.ts): the rke2 CLI, systemd units, killall and install script, the kubelet's
 * status reports, the Velero server (velero-controller.ts). Timing is realistic by default
 * (timing.ts); `timing: 'fast'` for tests that do not test timing.
 */
import {
  mkdirSync,
  writeFileSync,
  readFileSync,
  rmSync,
  existsSync,
  symlinkSync,
  chmodSync,
  renameSync,
} from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { labDir, claimSlot, releaseSlot, registeredLabs, REPO } from './paths.js';
import { findTools, type LabTools } from './tools.js';
import { makePki, sshKeygen, kubeconfig, type Pki } from './pki.js';
import { writeSshdConfig, startSshd, waitPort } from './sshd.js';
import { killLab, labProcesses, MARKER } from './procs.js';
import { type LabState, type NodeState, type S3Info, readState, writeState } from './state.js';
import {
  renderConfig,
  readModuleConfigs,
  overrideModuleConfig,
  toYaml,
  type NodePlan,
  type ConfigContext,
} from './config-yaml.js';
import { defaultReleaseTable, BASE_VERSION, type ReleaseTable } from './release-table.js';
import { bundleLab } from './bundle.js';
import { buildInventory } from './inventory.js';
import { LabShell } from './shell.js';
import {
  applyScenario as runScenario,
  clearScenario as undoScenario,
  type ScenarioName,
  type ScenarioOptions,
} from './scenarios.js';
import { resolveTiming, readTiming, writeTiming, type LabTiming, type TimingOption } from './timing.js';
import { readVolume, writeVolume, type VolumeFiles } from './volumes.js';
import { scheduleBackupName } from './cron.js';
import { installVelero } from './velero.js';
import { installEtcdSnapshotCrd } from './etcd-snapshot-crd.js';
import { KubeClient, authFromFiles } from './kube-client.js';
import type { Inventory } from '../../src/inventory/schema.js';

export interface CreateLabOptions {
  masters: number;
  workers: number;
  /** Applied after start-up; default "healthy". "none" leaves an empty cluster. */
  scenario?: ScenarioName | 'none';
  /** Lab name: state under <lab root>/<name>, node names <name>-master-<i>; default "lab". */
  name?: string;
  /** SSH port on every node address; default 2222. */
  sshPort?: number;
  /** Installed RKE2 version on every node at start; default v1.34.4+rke2r1. */
  rke2Version?: string;
  releaseTable?: ReleaseTable;
  /** `etcd-snapshot-compress` in the masters' config.yaml. */
  compress?: boolean;
  /** Take each node's config.yaml from `<dir>/<node-name>.yaml` (module-rendered). */
  moduleConfigDir?: string;
  /**
   * Timing of the simulations: 'realistic' (default: RKE2/Kubernetes/Velero defaults, e.g. a
   * Node turns Ready 10 s after its unit, node lifecycle grace 50 s), 'fast' (same behaviour,
   * short waits: for tests that do not test timing) or knobs over the realistic defaults.
   * See timing.ts and README "Timing".
   */
  timing?: TimingOption;
  /** `etcd-s3-timeout` in the masters' config.yaml (RKE2 default 5m0s). */
  etcdS3Timeout?: string;
  /**
   * Legacy name of timing.startSafetyCapSec: the lab's cap on a unit's activation (the real
   * unit waits forever). 0 makes every start fail at once.
   */
  startTimeoutSec?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ServiceOptions {
  /** Return right after `systemctl start --no-block` (the unit keeps starting). */
  noBlock?: boolean;
  /**
   * After a start/restart: 'ready' (default) waits until the unit is active and the Node Ready,
   * 'active' only for the unit (RKE2's READY=1).
   */
  wait?: 'ready' | 'active';
  /** Limit for the whole wait; default 300 s. */
  timeoutMs?: number;
}

/** `systemctl show` properties of a node's unit. */
export interface UnitStatus {
  unit: string;
  activeState: string;
  subState: string;
  result: string;
  nRestarts: number;
  mainPid: number;
}

export interface ScheduledSnapshot {
  node: string;
  /** Files created: the local file, and again when it reached S3. */
  created: string[];
  failed: { kind: 'local' | 's3'; file: string; message: string }[];
  /** Why this master took none (its rke2-server is not running, snapshots disabled). */
  skipped?: string;
}

export interface Lab {
  name: string;
  dir: string;
  inventory: Inventory;
  inventoryPath: string;
  privateKeyPath: string;
  privateKey: string;
  /** Admin kubeconfig on the host (master-0's API); nodes have /etc/rancher/rke2/rke2.yaml. */
  kubeconfigPath: string;
  kubectlPath: string;
  s3: S3Info;
  /** Bucket of the Velero lab controller (keys `backups/<name>/<name>.tar.gz`). */
  veleroBucket: string;
  state: LabState;
  /** A shell on a node over real SSH (connections are reused; closed by destroy/close). */
  shell(node: string): Promise<LabShell>;
  applyScenario(name: ScenarioName, opts?: ScenarioOptions): Promise<void>;
  /** Make a node unreachable (its sshd stops; its services keep running) and back. */
  stopSshd(node: string): Promise<void>;
  startSshd(node: string): Promise<void>;
  /** Undoes a scenario where that is possible (s3-*, disk-full, reset-hang, peer-stuck-join, unreachable-node). */
  clearScenario(name: ScenarioName, opts?: ScenarioOptions): Promise<void>;
  /**
   * Runs `systemctl <verb> <unit>` on a node over SSH. A start/restart is issued with
   * `--no-block` (the real unit can block forever) and then watched: it returns when the unit
   * is active and, by default, its Node Ready; it throws with `systemctl status` and the journal
   * when the unit fails or the timeout passes (see ServiceOptions).
   */
  service(
    node: string,
    verb: 'start' | 'stop' | 'restart',
    unit?: 'rke2-server' | 'rke2-agent',
    opts?: ServiceOptions,
  ): Promise<void>;
  /** `rke2-killall.sh` on a node over SSH. */
  killall(node: string): Promise<void>;
  /**
   * Polls the node's unit until it is active (riding out automatic restarts); throws with
   * `systemctl status` when it is failed/inactive or still starting at the timeout.
   */
  waitUnitActive(node: string, timeoutMs?: number): Promise<void>;
  /** ActiveState/SubState/Result/NRestarts/MainPID of the node's unit (`systemctl show`). */
  unitStatus(node: string): Promise<UnitStatus>;
  /** The last lines of `journalctl -u <unit>` on the node. */
  journal(node: string, lines?: number): Promise<string>;
  /** Waits until the node's Node object is Ready (condition Ready=True). */
  waitNodeReady(node: string, timeoutMs?: number): Promise<void>;
  /** Lab settings read by the simulations (e.g. `{ veleroResult: 'PartiallyFailed' }`); replaces them. */
  setSettings(settings: Record<string, unknown>): void;
  /** The timing knobs in force (timing.ts). */
  readonly timing: LabTiming;
  /** Changes timing knobs at once (merged into the current ones). */
  setTiming(timing: Partial<LabTiming>): void;
  /**
   * S3 goes away: `refuse` stops the server (connections refused), `blackhole` freezes it
   * (connections hang until the client's timeout). For RKE2 and Velero alike.
   */
  s3Down(opts?: { mode?: 'refuse' | 'blackhole' }): Promise<void>;
  /** Ends every S3 fault (down, revoked key, missing bucket). */
  s3Up(): Promise<void>;
  /**
   * The masters' scheduled etcd snapshot (`etcd-snapshot-schedule-cron`) as taken at `at`
   * (default now): `etcd-snapshot-<node>-<unix ts>[.zip]` on every master whose rke2-server
   * runs, uploaded to S3, with the configured retention.
   */
  scheduledSnapshots(opts?: { at?: Date | number; nodes?: string[] }): Promise<ScheduledSnapshot[]>;
  /** Fires a Velero Schedule now, as its cron would: returns the Backup name `<schedule>-<YYYYMMDDhhmmss>`. */
  runSchedule(name?: string): Promise<string>;
  /** The files in a PVC's volume (the lab's stand-in for the Hetzner volume behind its PV). */
  readVolume(namespace: string, pvc: string): Promise<VolumeFiles>;
  /** Writes files into a PVC's volume (`replace: true` empties it first). */
  writeVolume(
    namespace: string,
    pvc: string,
    files: VolumeFiles,
    opts?: { replace?: boolean },
  ): Promise<void>;
  kube(): KubeClient;
  close(): void;
  destroy(): Promise<void>;
}

const DEFAULT_PORT = 2222;

function nodePlans(
  name: string,
  slot: number,
  masters: number,
  workers: number,
  names?: { masters: string[]; workers: string[] },
): NodePlan[] {
  if (masters < 1) throw new Error('a lab needs at least one master');
  if (masters > 80 || workers > 150) throw new Error('at most 80 masters and 150 workers per lab');
  const plans: NodePlan[] = [];
  for (let i = 0; i < masters; i++)
    plans.push({
      name: names?.masters[i] ?? `${name}-master-${i}`,
      role: 'master',
      index: i,
      address: `127.0.${slot}.${10 + i}`,
    });
  for (let i = 0; i < workers; i++)
    plans.push({
      name: names?.workers[i] ?? `${name}-worker-${i}`,
      role: 'worker',
      index: i,
      address: `127.0.${slot}.${100 + i}`,
    });
  return plans;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function spawnMarked(
  labId: string,
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): number {
  const fd = openLog(logFile);
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env, [MARKER]: labId },
  });
  child.unref();
  if (!child.pid) throw new Error(`cannot start ${cmd}`);
  return child.pid;
}

import { openSync } from 'node:fs';
function openLog(path: string): number {
  return openSync(path, 'a');
}

function nodeWrapper(tools: LabTools, bundle: string, tool: string, version?: string): string {
  const env = version ? `RKE2_LAB_VERSION=${version} ` : '';
  return `#!/bin/sh\n# SIMULATION (rke2-ops lab): ${tool} for this node - see test/lab/README.md\n${env}exec ${tools.node} --disable-warning=NodeVersionSupportWarning ${bundle} ${tool} "$@"\n`;
}

function writeExec(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export async function createLab(options: CreateLabOptions): Promise<Lab> {
  const say = options.log ?? (() => {});
  const name = options.name ?? 'lab';
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name))
    throw new Error(`lab name ${JSON.stringify(name)}: lowercase letters, digits, "-"`);
  const dir = labDir(name);
  if (existsSync(dir)) await destroyLabDir(dir);
  // Everything that can refuse the request runs before anything is claimed or started.
  const tools = findTools();
  const moduleConfigs = options.moduleConfigDir ? readModuleConfigs(options.moduleConfigDir) : null;
  const masters = moduleConfigs ? moduleConfigs.masters.length : options.masters;
  const workers = moduleConfigs ? moduleConfigs.workers.length : options.workers;
  const names = moduleConfigs
    ? { masters: moduleConfigs.masters.map((m) => m.name), workers: moduleConfigs.workers.map((w) => w.name) }
    : undefined;
  nodePlans(name, 0, masters, workers, names);
  mkdirSync(dir, { recursive: true });
  const slot = claimSlot(dir);
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  const sshPort = options.sshPort ?? DEFAULT_PORT;
  const version = options.rke2Version ?? BASE_VERSION;
  const plans = nodePlans(name, slot, masters, workers, names);
  const s3Port = await freePort();
  const s3: S3Info = {
    endpoint: `127.0.0.1:${s3Port}`,
    bucket: 'rke2-etcd-snapshots',
    folder: name,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  };
  const state: LabState = {
    version: 1,
    id,
    name,
    dir,
    slot,
    sshPort,
    createdAt: new Date().toISOString(),
    nodes: [],
    s3: { ...s3, port: s3Port, pid: null, veleroBucket: 'velero' },
    controllerPid: null,
    rke2Version: version,
    phase: 'creating',
  };
  writeState(state);
  try {
    const t0 = Date.now();
    for (const d of ['ssh', 'bin', 'logs', 's3']) mkdirSync(join(dir, d), { recursive: true });
    const pub = sshKeygen(join(dir, 'ssh', 'id_ed25519'), `rke2-ops-lab-${name}`);
    writeFileSync(join(dir, 'ssh', 'authorized_keys'), `${pub}\n`);
    const pki = makePki(
      join(dir, 'pki'),
      plans.filter((p) => p.role === 'master').map((p) => p.address),
    );
    writeFileSync(
      join(dir, 'release-table.json'),
      JSON.stringify(options.releaseTable ?? defaultReleaseTable(), null, 2),
    );
    writeFileSync(join(dir, 'settings.json'), '{}\n');
    const timing = resolveTiming(options.timing);
    if (options.startTimeoutSec !== undefined) timing.startSafetyCapSec = options.startTimeoutSec;
    writeTiming(dir, timing);
    const bundle = await bundleLab(join(dir, 'bin'));
    say(`prepared keys, certificates and bundles in ${Date.now() - t0} ms`);

    state.s3.pid = await startS3(state, tools);
    writeState(state);

    const token = `K10${randomBytes(24).toString('hex')}::server:${randomBytes(16).toString('hex')}`;
    const masterPlans = plans.filter((p) => p.role === 'master');
    const ctx: ConfigContext = {
      cluster: name,
      token,
      master0: masterPlans[0]!.address,
      masterAddresses: masterPlans.map((p) => p.address),
      s3,
      compress: options.compress ?? false,
      ...(options.etcdS3Timeout ? { etcdS3Timeout: options.etcdS3Timeout } : {}),
    };
    for (const plan of plans) {
      const moduleCfg = moduleConfigs
        ? (plan.role === 'master' ? moduleConfigs.masters : moduleConfigs.workers)[plan.index]!.config
        : null;
      const ns = prepareNode(
        dir,
        plan,
        tools,
        pki,
        bundle.node,
        version,
        moduleCfg ? overrideModuleConfig(moduleCfg, plan, ctx) : renderConfig(plan, ctx),
        {
          lab: id,
          masters: masterPlans,
          authConfig: moduleConfigs?.authConfig ?? null,
        },
      );
      state.nodes.push(ns);
    }
    writeState(state);
    const t1 = Date.now();
    await Promise.all(
      state.nodes.map(async (n) => {
        writeSshdConfig(
          { name: n.name, address: n.address, port: sshPort, dir: n.dir },
          id,
          join(dir, 'ssh', 'authorized_keys'),
          tools.sshd,
        );
        n.sshdPid = await startSshd(
          { name: n.name, address: n.address, port: sshPort, dir: n.dir },
          id,
          tools.sshd,
        );
      }),
    );
    writeState(state);
    say(`${state.nodes.length} sshd up in ${Date.now() - t1} ms`);
    const { inventory, path: inventoryPath } = buildInventory(state, version);
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig(`https://${masterPlans[0]!.address}:6443`, pki));
    const lab = openLabFromState(state, inventory, inventoryPath, tools);
    // Bring the cluster up the way an operator would: master-0, then each joining master one at
    // a time (one etcd learner at a time), then the workers; `systemctl start` returns when RKE2
    // is READY, the Nodes turn Ready a little later (waited for once, below).
    const t2 = Date.now();
    const masters_ = state.nodes.filter((n) => n.role === 'master');
    await lab.service(masters_[0]!.name, 'start', undefined, { wait: 'active' });
    say(`master-0 up (etcd + kube-apiserver) in ${Date.now() - t2} ms`);
    for (const m of masters_.slice(1)) await lab.service(m.name, 'start', undefined, { wait: 'active' });
    say(`${masters_.length} masters up in ${Date.now() - t2} ms`);
    const t3 = Date.now();
    await parallel(
      state.nodes.filter((n) => n.role === 'worker'),
      8,
      (w) => lab.service(w.name, 'start', undefined, { wait: 'active' }),
    );
    say(`${workers} workers up in ${Date.now() - t3} ms`);
    await installEtcdSnapshotCrd(lab.kube());
    await installVelero(lab.kube(), state.s3);
    state.controllerPid = spawnMarked(
      id,
      tools.node,
      ['--disable-warning=NodeVersionSupportWarning', bundle.controller, dir],
      join(dir, 'logs', 'velero-controller.log'),
    );
    state.phase = 'up';
    writeState(state);
    const t4 = Date.now();
    await Promise.all(
      state.nodes.map((n) => lab.waitNodeReady(n.name, 120_000 + timing.nodeReadyDelaySec * 1000)),
    );
    say(`all nodes Ready ${Date.now() - t4} ms later`);
    if ((options.scenario ?? 'healthy') !== 'none')
      await lab.applyScenario((options.scenario ?? 'healthy') as ScenarioName);
    say(`lab ${name} up in ${Date.now() - t0} ms`);
    return lab;
  } catch (error) {
    state.phase = 'failed';
    writeState(state);
    if (!process.env.RKE2OPS_LAB_KEEP_FAILED) await destroyLabDir(dir).catch(() => {});
    throw error;
  }
}

async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await fn(item);
        } catch (error) {
          errors.push(error);
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}

interface PrepareContext {
  lab: string;
  masters: NodePlan[];
  /** The module's AuthenticationConfiguration for servers (kube-apiserver-arg authentication-config=...). */
  authConfig: { path: string; text: string } | null;
}

function prepareNode(
  dir: string,
  plan: NodePlan,
  tools: LabTools,
  pki: Pki,
  bundle: string,
  version: string,
  config: Record<string, unknown>,
  ctx: PrepareContext,
): NodeState {
  const nd = join(dir, 'nodes', plan.name);
  const etc = join(nd, 'etc-rancher');
  const vlr = join(nd, 'var-lib-rancher');
  const bin = join(nd, 'usr-local-bin');
  for (const d of [
    join(etc, 'rke2'),
    join(etc, 'rke2-lab'),
    join(vlr, 'rke2', 'bin'),
    join(vlr, 'rke2', 'server'),
    bin,
    join(nd, 'sshd'),
  ])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(etc, 'rke2', 'config.yaml'), toYaml(config), { mode: 0o600 });
  writeFileSync(
    join(etc, 'rke2-lab', 'node.json'),
    JSON.stringify(
      {
        lab: ctx.lab,
        labDir: dir,
        name: plan.name,
        role: plan.role,
        index: plan.index,
        address: plan.address,
        masters: ctx.masters.map((m) => ({ name: m.name, address: m.address })),
        tools: {
          etcd: tools.etcd,
          etcdctl: tools.etcdctl,
          etcdutl: tools.etcdutl,
          kubeApiserver: tools.kubeApiserver,
          kubectl: tools.kubectl,
        },
        pki: {
          caCert: pki.caCert,
          serverCert: pki.serverCert,
          serverKey: pki.serverKey,
          adminCert: pki.adminCert,
          adminKey: pki.adminKey,
          saKey: pki.saKey,
          saPub: pki.saPub,
        },
        releaseTablePath: join(dir, 'release-table.json'),
        settingsPath: join(dir, 'settings.json'),
      },
      null,
      2,
    ),
  );
  writeExec(join(bin, 'rke2'), nodeWrapper(tools, bundle, 'rke2', version));
  writeExec(join(bin, 'systemctl'), nodeWrapper(tools, bundle, 'systemctl'));
  writeExec(join(bin, 'journalctl'), nodeWrapper(tools, bundle, 'journalctl'));
  writeExec(join(bin, 'rke2-killall.sh'), nodeWrapper(tools, bundle, 'killall'));
  writeExec(join(bin, 'rke2-install.sh'), nodeWrapper(tools, bundle, 'install'));
  symlinkSync(tools.kubectl, join(vlr, 'rke2', 'bin', 'kubectl'));
  symlinkSync(tools.etcdctl, join(vlr, 'rke2', 'bin', 'etcdctl'));
  if (plan.role === 'master') {
    writeFileSync(join(etc, 'rke2', 'rke2.yaml'), kubeconfig(`https://${plan.address}:6443`, pki), {
      mode: 0o600,
    });
    if (ctx.authConfig?.path.startsWith('/etc/rancher/')) {
      const target = join(etc, ctx.authConfig.path.slice('/etc/rancher/'.length));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, ctx.authConfig.text, { mode: 0o600 });
    }
  }
  const hostKey = sshKeygen(join(nd, 'sshd', 'ssh_host_ed25519_key'), plan.name);
  return {
    name: plan.name,
    role: plan.role,
    index: plan.index,
    address: plan.address,
    dir: nd,
    sshdPid: null,
    hostKey,
  };
}

/** The lab's S3 server (s3-server.ts: real s3rver with a revocable key), marked as a lab process. */
async function startS3(state: LabState, tools: LabTools): Promise<number> {
  const pid = spawnMarked(
    state.id,
    tools.node,
    [
      '--disable-warning=NodeVersionSupportWarning',
      join(state.dir, 'bin', 's3-lab-server.mjs'),
      REPO,
      join(state.dir, 's3'),
      String(state.s3.port),
      state.s3.bucket,
      state.s3.veleroBucket,
    ],
    join(state.dir, 'logs', 's3rver.log'),
  );
  if (!(await waitPort('127.0.0.1', state.s3.port, 15_000))) throw new Error('s3rver did not start');
  return pid;
}

function signal(pid: number | null, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openLabFromState(
  state: LabState,
  inventory: Inventory,
  inventoryPath: string,
  tools: LabTools,
): Lab {
  const dir = state.dir;
  const privateKeyPath = join(dir, 'ssh', 'id_ed25519');
  const privateKey = readFileSync(privateKeyPath, 'utf8');
  const shells = new Map<string, Promise<LabShell>>();
  const nodeByName = (n: string): NodeState => {
    const node = state.nodes.find((x) => x.name === n);
    if (!node) throw new Error(`no node ${n} in lab ${state.name}`);
    return node;
  };
  const unitOf = (node: NodeState) => (node.role === 'master' ? 'rke2-server' : 'rke2-agent');
  const shell = (n: string): Promise<LabShell> => {
    if (nodeByName(n).lost) return Promise.reject(new Error(`${n} is lost (scenario node-lost)`));
    let s = shells.get(n);
    if (!s) {
      s = LabShell.open(inventory, n, privateKey);
      s.catch(() => shells.delete(n));
      shells.set(n, s);
    }
    return s;
  };
  const bucketDir = join(dir, 's3', state.s3.bucket);
  const hiddenBucketDir = join(dir, 's3', `.${state.s3.bucket}.missing`);
  const lab: Lab = {
    name: state.name,
    dir,
    inventory,
    inventoryPath,
    privateKeyPath,
    privateKey,
    kubeconfigPath: join(dir, 'kubeconfig'),
    kubectlPath: tools.kubectl,
    s3: {
      endpoint: state.s3.endpoint,
      bucket: state.s3.bucket,
      folder: state.s3.folder,
      region: state.s3.region,
      accessKeyId: state.s3.accessKeyId,
      secretAccessKey: state.s3.secretAccessKey,
    },
    veleroBucket: state.s3.veleroBucket,
    state,
    shell,
    applyScenario: (name, opts) => runScenario(lab, name, opts),
    clearScenario: (name, opts) => undoScenario(lab, name, opts),
    async stopSshd(n) {
      const node = nodeByName(n);
      shells
        .get(n)
        ?.then((s) => s.close())
        .catch(() => {});
      shells.delete(n);
      signal(node.sshdPid, 'SIGKILL');
      await waitPort(node.address, state.sshPort, 5000, false);
      node.sshdPid = null;
      writeState(state);
    },
    async startSshd(n) {
      const node = nodeByName(n);
      if (node.lost) throw new Error(`${n} is lost (scenario node-lost): it does not come back`);
      if (node.sshdPid) return;
      node.sshdPid = await startSshd(
        { name: node.name, address: node.address, port: state.sshPort, dir: node.dir },
        state.id,
        tools.sshd,
      );
      writeState(state);
    },
    async service(n, verb, unit, opts = {}) {
      const node = nodeByName(n);
      const u = unit ?? unitOf(node);
      const s = await shell(n);
      const timeoutMs = opts.timeoutMs ?? 300_000;
      // Like a careful operator: never wait on a blocking `systemctl start` (RKE2's unit may
      // block forever, and a start that fails once is retried by systemd) - start without
      // blocking and watch the unit.
      const argv = ['systemctl', verb, ...(verb === 'stop' ? [] : ['--no-block']), u];
      const r = await s.run(argv, timeoutMs);
      if (r.code !== 0) {
        const journal = await lab.journal(n, 20).catch(() => '');
        throw new Error(
          `${n}: ${argv.join(' ')} exited ${r.code ?? r.signal}\n${r.stderr}${r.stdout}--- journalctl -u ${u} -n 20 ---\n${journal}`.trim(),
        );
      }
      if (verb === 'stop' || opts.noBlock) return;
      const end = Date.now() + timeoutMs;
      await lab.waitUnitActive(n, timeoutMs);
      if ((opts.wait ?? 'ready') === 'ready') await lab.waitNodeReady(n, Math.max(1000, end - Date.now()));
    },
    async waitUnitActive(n, timeoutMs = 300_000) {
      const end = Date.now() + timeoutMs;
      let st: UnitStatus;
      for (;;) {
        st = await lab.unitStatus(n);
        if (st.activeState === 'active') return;
        if (st.activeState === 'failed' || st.activeState === 'inactive' || Date.now() > end) break;
        await sleepMs(300);
      }
      const status = await (await shell(n)).run(['systemctl', 'status', st.unit]).catch(() => null);
      throw new Error(
        `${n}: ${st.unit} is ${st.activeState} (${st.subState}, ${st.nRestarts} restarts)${st.activeState === 'activating' ? ` after ${timeoutMs} ms` : ''}\n${status?.stdout ?? ''}`.trim(),
      );
    },
    async killall(n) {
      const s = await shell(n);
      await s.check(['rke2-killall.sh'], 120_000);
    },
    async unitStatus(n) {
      const u = unitOf(nodeByName(n));
      const r = await (
        await shell(n)
      ).check(['systemctl', 'show', u, '-p', 'ActiveState,SubState,Result,NRestarts,MainPID']);
      const kv = Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ) as Record<string, string>;
      return {
        unit: u,
        activeState: kv['ActiveState'] ?? '',
        subState: kv['SubState'] ?? '',
        result: kv['Result'] ?? '',
        nRestarts: Number(kv['NRestarts'] ?? 0),
        mainPid: Number(kv['MainPID'] ?? 0),
      };
    },
    async journal(n, lines = 50) {
      const u = unitOf(nodeByName(n));
      const r = await (await shell(n)).run(['journalctl', '-u', u, '-n', String(lines), '--no-pager']);
      return r.stdout;
    },
    async waitNodeReady(n, timeoutMs = 120_000) {
      const kube = lab.kube();
      const end = Date.now() + timeoutMs;
      let last: string;
      for (;;) {
        try {
          const obj = await kube.getOrNull<{
            status?: { conditions?: { type: string; status: string; message?: string }[] };
          }>(`/api/v1/nodes/${n}`);
          const c = obj?.status?.conditions?.find((x) => x.type === 'Ready');
          if (c?.status === 'True') return;
          last = c ? `Ready=${c.status} (${c.message ?? ''})` : 'not registered';
        } catch (error) {
          last = (error as Error).message;
        }
        if (Date.now() > end) throw new Error(`${n}: Node not Ready after ${timeoutMs} ms: ${last}`);
        await sleepMs(250);
      }
    },
    setSettings(settings) {
      writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
    },
    get timing() {
      return readTiming(dir);
    },
    setTiming(t) {
      writeTiming(dir, { ...readTiming(dir), ...t });
    },
    async s3Down(opts = {}) {
      const mode = opts.mode ?? 'refuse';
      const faults = (state.s3.faults ??= {});
      if (faults.down === mode) return;
      if (faults.down) await lab.s3Up();
      if (mode === 'refuse') {
        signal(state.s3.pid, 'SIGKILL');
        await waitPort('127.0.0.1', state.s3.port, 10_000, false);
        state.s3.pid = null;
      } else signal(state.s3.pid, 'SIGSTOP');
      state.s3.faults = { ...faults, down: mode };
      writeState(state);
    },
    async s3Up() {
      const faults = state.s3.faults ?? {};
      if (faults.down === 'blackhole') signal(state.s3.pid, 'SIGCONT');
      if (faults.down === 'refuse' || !state.s3.pid) state.s3.pid = await startS3(state, tools);
      if (faults.badCredentials) signal(state.s3.pid, 'SIGUSR2');
      if (faults.missingBucket && existsSync(hiddenBucketDir)) {
        // s3rver recreates a configured bucket when it restarts: an empty one goes first.
        rmSync(bucketDir, { recursive: true, force: true });
        renameSync(hiddenBucketDir, bucketDir);
      }
      state.s3.faults = {};
      writeState(state);
    },
    async scheduledSnapshots(opts = {}) {
      const at =
        opts.at === undefined
          ? Math.floor(Date.now() / 1000)
          : typeof opts.at === 'number'
            ? Math.floor(opts.at)
            : Math.floor(opts.at.getTime() / 1000);
      const masters = state.nodes.filter(
        (n) => n.role === 'master' && !n.lost && (!opts.nodes || opts.nodes.includes(n.name)),
      );
      const bundle = join(dir, 'bin', 'rke2-lab-node.mjs');
      return Promise.all(
        masters.map(async (m): Promise<ScheduledSnapshot> => {
          const r = await (
            await shell(m.name)
          ).run(
            [
              tools.node,
              '--disable-warning=NodeVersionSupportWarning',
              bundle,
              'cron-snapshot',
              '--at',
              String(at),
            ],
            600_000,
          );
          if (r.code !== 0) throw new Error(`${m.name}: scheduled snapshot failed: ${r.stderr}`);
          const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Partial<ScheduledSnapshot>;
          return {
            node: m.name,
            created: out.created ?? [],
            failed: out.failed ?? [],
            ...(out.skipped ? { skipped: out.skipped } : {}),
          };
        }),
      );
    },
    async runSchedule(name = 'velero-full-cluster') {
      const kube = lab.kube();
      const sched = await kube.get<{ spec: { template?: Record<string, unknown> } }>(
        `/apis/velero.io/v1/namespaces/velero/schedules/${name}`,
      );
      const now = new Date();
      const backup = scheduleBackupName(name, now);
      const template = sched.spec.template ?? {};
      await kube.call('POST', '/apis/velero.io/v1/namespaces/velero/backups', {
        apiVersion: 'velero.io/v1',
        kind: 'Backup',
        metadata: {
          name: backup,
          namespace: 'velero',
          labels: {
            'velero.io/schedule-name': name,
            'velero.io/storage-location': String(template['storageLocation'] ?? 'default'),
          },
        },
        spec: template,
      });
      await kube.mergePatch(`/apis/velero.io/v1/namespaces/velero/schedules/${name}/status`, {
        status: { lastBackup: now.toISOString().replace(/\.\d+Z$/, 'Z') },
      });
      return backup;
    },
    readVolume: (ns, pvc) => readVolume(lab.kube(), dir, ns, pvc),
    writeVolume: (ns, pvc, files, opts) => writeVolume(lab.kube(), dir, ns, pvc, files, opts),
    kube() {
      const pkiDir = join(dir, 'pki');
      return new KubeClient(
        state.nodes.filter((x) => x.role === 'master').map((m) => `https://${m.address}:6443`),
        authFromFiles(
          join(pkiDir, 'ca.crt'),
          join(pkiDir, 'client-admin.crt'),
          join(pkiDir, 'client-admin.key'),
        ),
      );
    },
    close() {
      for (const s of shells.values()) s.then((x) => x.close()).catch(() => {});
      shells.clear();
    },
    async destroy() {
      lab.close();
      await destroyLabDir(dir);
    },
  };
  return lab;
}

/** Opens an existing lab (created by the CLI or another process) from its state dir. */
export async function openLab(nameOrDir: string): Promise<Lab> {
  const dir = nameOrDir.includes('/') ? nameOrDir : labDir(nameOrDir);
  const state = readState(dir);
  if (!state) throw new Error(`no lab state in ${dir}`);
  const { inventory, path } = buildInventory(state, state.rke2Version);
  return openLabFromState(state, inventory, path, findTools());
}

/**
 * Tears a lab down from its state dir alone: kills every process carrying its marker (which
 * ends its mount namespaces and mounts), releases its slot, removes the dir.
 */
export async function destroyLabDir(dir: string): Promise<void> {
  const state = readState(dir);
  if (state) {
    await killLab(state.id, dir);
    releaseSlot(state.slot);
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `down --all`: every registered lab, then any process still in a lab namespace or carrying a
 * lab marker. With `under`, only the labs whose dir is below that root (what one test run made:
 * other people's labs on a shared machine stay up).
 */
export async function destroyAllLabs(under?: string): Promise<number> {
  let n = 0;
  for (const { slot, dir } of registeredLabs()) {
    if (under !== undefined && !(dir && dir.startsWith(`${under.replace(/\/+$/, '')}/`))) continue;
    if (dir) await destroyLabDir(dir).catch(() => {});
    releaseSlot(slot);
    n++;
  }
  if (under === undefined) await killLab(undefined);
  return n;
}

export { labProcesses };
