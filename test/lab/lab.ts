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
 * status reports, the Velero server (velero-controller.ts).
 */
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, symlinkSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { labDir, claimSlot, releaseSlot, registeredLabs } from './paths.js';
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
import { applyScenario as runScenario, type ScenarioName, type ScenarioOptions } from './scenarios.js';
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
  /** How long `systemctl start` waits for etcd/API; default 60 s. */
  startTimeoutSec?: number;
  /** Progress lines. */
  log?: (line: string) => void;
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
  /** Runs `systemctl <verb> <unit>` / `rke2-killall.sh` on a node over SSH. */
  service(
    node: string,
    verb: 'start' | 'stop' | 'restart',
    unit?: 'rke2-server' | 'rke2-agent',
  ): Promise<void>;
  killall(node: string): Promise<void>;
  /** Lab settings read by the simulations (e.g. `{ veleroResult: 'PartiallyFailed' }`). */
  setSettings(settings: Record<string, unknown>): void;
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
    const bundle = await bundleLab(join(dir, 'bin'));
    say(`prepared keys, certificates and bundles in ${Date.now() - t0} ms`);

    state.s3.pid = spawnMarked(
      id,
      tools.node,
      [
        tools.s3rver,
        '-d',
        join(dir, 's3'),
        '-a',
        '127.0.0.1',
        '-p',
        String(s3Port),
        '--silent',
        '--configure-bucket',
        s3.bucket,
        '--configure-bucket',
        'velero',
      ],
      join(dir, 'logs', 's3rver.log'),
    );
    writeState(state);
    if (!(await waitPort('127.0.0.1', s3Port, 10_000))) throw new Error('s3rver did not start');

    const token = `K10${randomBytes(24).toString('hex')}::server:${randomBytes(16).toString('hex')}`;
    const masterPlans = plans.filter((p) => p.role === 'master');
    const ctx: ConfigContext = {
      cluster: name,
      token,
      master0: masterPlans[0]!.address,
      masterAddresses: masterPlans.map((p) => p.address),
      s3,
      compress: options.compress ?? false,
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
          startTimeoutSec: options.startTimeoutSec ?? 60,
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
    // a time (etcd member add needs a healthy cluster), then the workers.
    const t2 = Date.now();
    const masters_ = state.nodes.filter((n) => n.role === 'master');
    await lab.service(masters_[0]!.name, 'start');
    say(`master-0 up (etcd + kube-apiserver) in ${Date.now() - t2} ms`);
    for (const m of masters_.slice(1)) await lab.service(m.name, 'start');
    say(`${masters_.length} masters up in ${Date.now() - t2} ms`);
    const t3 = Date.now();
    await parallel(
      state.nodes.filter((n) => n.role === 'worker'),
      8,
      (w) => lab.service(w.name, 'start'),
    );
    say(`${workers} workers up in ${Date.now() - t3} ms`);
    await installEtcdSnapshotCrd(lab.kube());
    await installVelero(lab.kube());
    state.controllerPid = spawnMarked(
      id,
      tools.node,
      ['--disable-warning=NodeVersionSupportWarning', bundle.controller, dir],
      join(dir, 'logs', 'velero-controller.log'),
    );
    state.phase = 'up';
    writeState(state);
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
  startTimeoutSec: number;
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
        startTimeoutSec: ctx.startTimeoutSec,
      },
      null,
      2,
    ),
  );
  writeExec(join(bin, 'rke2'), nodeWrapper(tools, bundle, 'rke2', version));
  writeExec(join(bin, 'systemctl'), nodeWrapper(tools, bundle, 'systemctl'));
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
  const shell = (n: string): Promise<LabShell> => {
    let s = shells.get(n);
    if (!s) {
      s = LabShell.open(inventory, n, privateKey);
      s.catch(() => shells.delete(n));
      shells.set(n, s);
    }
    return s;
  };
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
    async stopSshd(n) {
      const node = nodeByName(n);
      shells
        .get(n)
        ?.then((s) => s.close())
        .catch(() => {});
      shells.delete(n);
      if (node.sshdPid) {
        try {
          process.kill(node.sshdPid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await waitPort(node.address, state.sshPort, 5000, false);
      node.sshdPid = null;
      writeState(state);
    },
    async startSshd(n) {
      const node = nodeByName(n);
      if (node.sshdPid) return;
      node.sshdPid = await startSshd(
        { name: node.name, address: node.address, port: state.sshPort, dir: node.dir },
        state.id,
        tools.sshd,
      );
      writeState(state);
    },
    async service(n, verb, unit) {
      const node = nodeByName(n);
      const u = unit ?? (node.role === 'master' ? 'rke2-server' : 'rke2-agent');
      const s = await shell(n);
      await s.check(['systemctl', verb, u], 180_000);
    },
    async killall(n) {
      const s = await shell(n);
      await s.check(['rke2-killall.sh'], 60_000);
    },
    setSettings(settings) {
      writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
    },
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
