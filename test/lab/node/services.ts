/**
 * SIMULATION of what the rke2-server / rke2-agent main process does while its unit starts
 * (`unit-run`, run by the unit's main-process loop in unit.ts), and of rke2-killall.sh
 * (rke2-facts.md §2.1, §2.3, §2.5, §2.8, §3.1, §9.1, §9.7). Sources in RKE2/K3s are cited inline.
 *
 * Server: deletes server/db/reset-flag; with no etcd data on a joining server it first waits for
 * the supervisor of its `server:` (a wiped peer started before master-0 waits here: unit
 * `activating`), checks the token (a wrong one is fatal: `activating (auto-restart)`), adds
 * itself as an etcd LEARNER through that server (a second learner is refused by etcd: "too many
 * learner members in cluster" - fatal, retried every RestartSec) and starts its REAL etcd
 * member; an existing member restarts with its stored membership (a peer with an old server/db
 * after a reset never reaches quorum and waits forever). It waits for etcd to be a healthy
 * voting member (the lab promotes a learner after timing.learnerPromotionDelaySec, as the
 * leader's manageLearners would), checks the data version against the installed release (an
 * older etcd on newer data fails like etcd's "invalid downgrade" and waits forever), starts the
 * REAL kube-apiserver, registers the Node NotReady ("cni plugin not initialized") and then
 * signals READY: `systemctl start` returns. timing.nodeReadyDelaySec later the Node is Ready.
 * Agent: waits for a server, checks the token, registers its Node, READY, Ready later.
 */
import { existsSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import {
  type NodeSimConfig,
  type RkeConfig,
  type Journal,
  RUN_DIR,
  cfgString,
  dataDir,
  daemon,
  running,
  readPid,
  killPid,
  waitGone,
  sleep,
  ensureDir,
  installedVersion,
  loadTiming,
  loadFaults,
  unitJournal,
  loadReleaseTable,
} from './common.js';
import {
  startMember,
  joinCluster,
  stopMember,
  dbDir,
  hasMemberData,
  cfgServer,
  healthy,
  memberStatus,
  promoteLearner,
  checkDataVersion,
  downgradeBlocked,
  etcdMinor,
} from './etcd.js';
import { syncNode } from './kubelet.js';
import { KubeClient, authFromFiles } from '../kube-client.js';
import { type Unit, unitFor, writeState, currentState, stop as stopUnit, DESCRIPTION } from './unit.js';
import { warmS3Client } from './snapshot.js';

export { unitFor };
export type { Unit };

/**
 * The real kube-apiserver's flags. `kube-apiserver-arg` entries of config.yaml are passed on as
 * RKE2 does (e.g. the module's `authentication-config=...` for anonymous /readyz); with an
 * authentication config, anonymous access is configured there, not by flag.
 */
function apiserverArgs(node: NodeSimConfig, cfg: RkeConfig): string[] {
  const extra = (
    Array.isArray(cfg['kube-apiserver-arg']) ? (cfg['kube-apiserver-arg'] as unknown[]) : []
  ).map((a) => `--${String(a).replace(/^--/, '')}`);
  const hasAuthConfig = extra.some((a) => a.startsWith('--authentication-config='));
  const base = [
    `--advertise-address=${node.address}`,
    `--bind-address=${node.address}`,
    '--secure-port=6443',
    `--etcd-servers=http://${node.address}:2379`,
    `--tls-cert-file=${node.pki.serverCert}`,
    `--tls-private-key-file=${node.pki.serverKey}`,
    `--client-ca-file=${node.pki.caCert}`,
    `--service-account-key-file=${node.pki.saPub}`,
    `--service-account-signing-key-file=${node.pki.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--api-audiences=https://kubernetes.default.svc.cluster.local,rke2',
    '--service-cluster-ip-range=10.43.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--anonymous-auth=true',
    '--allow-privileged=true',
    // No controller-manager creates service accounts in the lab: pods must not need one.
    '--disable-admission-plugins=ServiceAccount',
    // Reads go to etcd (no watch cache), so what the API reports is what etcd holds - also
    // right after a restore. APF off: fewer moving parts on a 2-core machine.
    '--watch-cache=false',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--event-ttl=1h',
    '--v=0',
  ];
  return [...base.filter((a) => !(hasAuthConfig && a.startsWith('--anonymous-auth'))), ...extra];
}

async function apiReady(node: NodeSimConfig): Promise<boolean> {
  const kube = new KubeClient(
    [`https://${node.address}:6443`],
    authFromFiles(node.pki.caCert, node.pki.adminCert, node.pki.adminKey),
    2000,
  );
  return kube.ready();
}

/** Starts (or, after a version change, replaces) the kube-apiserver "static pod". */
async function ensureApiserver(node: NodeSimConfig, cfg: RkeConfig): Promise<void> {
  // The static pod manifest RKE2 writes: the version's image and the flags from the config.
  const args = apiserverArgs(node, cfg);
  const manifest = `${installedVersion()} ${createHash('sha256').update(args.join('\n')).digest('hex')}`;
  const manifestFile = `${RUN_DIR}/kube-apiserver.version`;
  if (running('kube-apiserver')) {
    const started = existsSync(manifestFile) ? readFileSync(manifestFile, 'utf8').trim() : '';
    if (started === manifest) return;
    // A new RKE2 version or changed kube-apiserver-arg means a new static pod manifest: the
    // kubelet replaces the pod.
    const pid = readPid('kube-apiserver');
    killPid('kube-apiserver', 'SIGKILL');
    await waitGone(pid);
  }
  daemon('kube-apiserver', node.tools.kubeApiserver, args);
  writeFileSync(manifestFile, `${manifest}\n`);
}

/** RKE2 writes the cluster token to server/token on every server (rke2-facts.md §2.5). */
function ensureToken(node: NodeSimConfig, cfg: RkeConfig): void {
  const file = `${dataDir(cfg)}/server/token`;
  if (existsSync(file)) return;
  ensureDir(`${dataDir(cfg)}/server`);
  let token = cfgString(cfg, 'token');
  if (!token) token = randomBytes(16).toString('hex');
  if (!token.startsWith('K10')) {
    const hash = createHash('sha256').update(node.lab).digest('hex');
    token = `K10${hash}::server:${token}`;
  }
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
}

/** The secret part of an RKE2 token (`K10<ca hash>::<user>:<secret>` or a bare secret). */
function tokenSecret(token: string): string {
  const m = /^K10[0-9a-f]*::[^:]+:(.*)$/.exec(token.trim());
  return m?.[1] ?? token.trim();
}

/** The master a joining node talks to: the one whose address `server:` names (else master-0). */
function joinTarget(node: NodeSimConfig, cfg: RkeConfig): { name: string; address: string; url: string } {
  const server = cfgString(cfg, 'server');
  const host = server ? new URL(server).hostname : node.masters[0]!.address;
  const m = node.masters.find((x) => x.address === host) ?? node.masters[0]!;
  return { ...m, url: server || `https://${m.address}:9345` };
}

function otherNodeRunDir(node: NodeSimConfig, name: string): string {
  return `${node.labDir}/nodes/${name}/var-lib-rancher/rke2/lab/run`;
}

/**
 * The supervisor (:9345) of a server answers join requests once its rke2 process is up and its
 * datastore ready (K3s serves bootstrap data from etcd). The lab reads that server's unit state.
 */
function supervisorReady(node: NodeSimConfig, name: string): boolean {
  try {
    const s = JSON.parse(readFileSync(`${otherNodeRunDir(node, name)}/rke2-server.unit.json`, 'utf8')) as {
      active: string;
      mainPid: number | null;
    };
    if (s.active !== 'active' || !s.mainPid) return false;
    process.kill(s.mainPid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A node joining through `server:` must present the cluster's token (rke2-facts.md §2.5): the
 * real supervisor refuses a wrong one. The lab reads the cluster token from that server's
 * server/token (the one node-to-node peek of the simulation) and compares the secret parts.
 */
function tokenValid(node: NodeSimConfig, cfg: RkeConfig, server: string): boolean {
  const file = `${node.labDir}/nodes/${server}/var-lib-rancher/rke2/server/token`;
  if (!existsSync(file)) return true;
  const mine = cfgString(cfg, 'token') || process.env.RKE2_TOKEN || '';
  return tokenSecret(mine) === tokenSecret(readFileSync(file, 'utf8'));
}

class Fatal extends Error {}

interface RunContext {
  node: NodeSimConfig;
  cfg: RkeConfig;
  unit: Unit;
  attempt: number;
  j: Journal;
  /** Lab safety cap on this activation. */
  deadline: number;
}

/** Waits for `check`, logging `why()` every 5 s like RKE2's retry loops; false at the safety cap. */
async function waitUntil(
  ctx: RunContext,
  check: () => Promise<boolean> | boolean,
  why: () => string,
  stepMs = 500,
): Promise<boolean> {
  let lastLog = 0;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > ctx.deadline) return false;
    if (Date.now() - lastLog >= 5000) {
      ctx.j.info(why());
      lastLog = Date.now();
    }
    await sleep(stepMs);
  }
}

class GiveUp extends Error {}

async function must(ok: Promise<boolean>): Promise<void> {
  if (!(await ok)) throw new GiveUp();
}

/**
 * `unit-run <unit> <attempt>`: one start attempt of the unit's main process. Exit codes for the
 * main-process loop: 0 READY (the loop becomes the placeholder), 1 fatal (restart after
 * RestartSec), 3 the lab's safety cap (unit failed, no restart).
 */
export async function unitRun(
  node: NodeSimConfig,
  cfg: RkeConfig,
  unit: Unit,
  attempt: number,
): Promise<number> {
  const mainPid = process.ppid;
  const prev = currentState(unit);
  const now = Date.now();
  const activatedAt = attempt > 1 && prev.active === 'activating' ? (prev.activatedAt ?? now) : now;
  const cap = loadTiming(node).startSafetyCapSec;
  writeState(unit, {
    active: 'activating',
    sub: 'start',
    result: 'success',
    since: now,
    attempt,
    mainPid,
    activatedAt,
  });
  const j = unitJournal(unit, node.name, mainPid);
  const ctx: RunContext = { node, cfg, unit, attempt, j, deadline: activatedAt + cap * 1000 };
  try {
    if (unit !== unitFor(node)) throw new Fatal(`${unit} is not the unit of this node`);
    if (node.role === 'master') await runServer(ctx);
    else await runAgent(ctx);
    return 0;
  } catch (error) {
    if (error instanceof GiveUp || Date.now() > ctx.deadline) {
      j.error('lab: start-up safety cap reached (the real unit has no start timeout: TimeoutStartSec=0)');
      j.systemd(`${unit}.service: start operation timed out. Terminating.`);
      j.systemd(`${unit}.service: Failed with result 'timeout'.`);
      writeState(unit, {
        active: 'failed',
        sub: 'failed',
        result: 'timeout',
        since: Date.now(),
        attempt,
        mainPid,
        exitStatus: 1,
      });
      return 3;
    }
    j.fatal((error as Error).message);
    j.systemd(`${unit}.service: Main process exited, code=exited, status=1/FAILURE`);
    j.systemd(`${unit}.service: Failed with result 'exit-code'.`);
    writeState(unit, {
      active: 'activating',
      sub: 'auto-restart',
      result: 'exit-code',
      since: Date.now(),
      attempt,
      mainPid,
      exitStatus: 1,
      activatedAt,
    });
    j.systemd(`${unit}.service: Scheduled restart job, restart counter is at ${attempt}.`);
    return 1;
  }
}

function ready(ctx: RunContext): void {
  writeState(ctx.unit, {
    active: 'active',
    sub: 'running',
    result: 'success',
    since: Date.now(),
    attempt: ctx.attempt,
    mainPid: process.ppid,
    activatedAt: currentState(ctx.unit).activatedAt,
    activeEnterAt: Date.now(),
  });
  ctx.j.systemd(`Started ${ctx.unit}.service - ${DESCRIPTION[ctx.unit]}.`);
}

/** Registers the Node NotReady, READY, then Ready after the CNI delay (the kubelet's view). */
async function registerAndReady(ctx: RunContext): Promise<void> {
  let lastError = '';
  await must(
    waitUntil(
      ctx,
      async () => {
        try {
          await syncNode(ctx.node, ctx.cfg, 'notready');
          return true;
        } catch (error) {
          lastError = (error as Error).message;
          return false;
        }
      },
      () => `Waiting for API server to register node: ${lastError}`,
      1000,
    ),
  );
  ready(ctx);
  if (ctx.node.role === 'master') await warmS3Client(ctx.node, ctx.cfg, ctx.j);
  const delay = loadTiming(ctx.node).nodeReadyDelaySec;
  // With a delay, the main process reports Ready later (`kubelet-ready`, unit.ts).
  if (delay > 0) writeFileSync(`${RUN_DIR}/${ctx.unit}.ready-after`, `${delay}\n`);
  else await kubeletReady(ctx.node, ctx.cfg);
}

/** The CNI is up: the kubelet reports the Node Ready (best effort, as a kubelet keeps trying). */
export async function kubeletReady(node: NodeSimConfig, cfg: RkeConfig): Promise<void> {
  for (let i = 0; i < 30; i++) {
    try {
      await syncNode(node, cfg, 'ready');
      return;
    } catch {
      await sleep(1000);
    }
  }
}

async function runServer(ctx: RunContext): Promise<void> {
  const { node, cfg, j } = ctx;
  const version = installedVersion();
  j.info(`Starting rke2 ${version} (lab)`);
  const faults = loadFaults();
  const timing = loadTiming(node);
  const release = loadReleaseTable(node).versions[version];
  const binaryEtcd = etcdMinor(release?.etcdVersion);
  // Normal start deletes the reset flag (rke2-facts.md §2.3).
  rmSync(`${dbDir(cfg)}/reset-flag`, { force: true });
  const initial = node.index === 0 && !cfgServer(cfg);
  const target = joinTarget(node, cfg);
  let joining: { address: string } | null = null;
  if (!hasMemberData(cfg) && !initial) {
    // K3s validates the join token against the server's supervisor first
    // (k3s-io/k3s pkg/cluster/bootstrap.go shouldBootstrapLoad); a server that is not up makes
    // this server wait (the "wiped peer started before master-0").
    await must(
      waitUntil(
        ctx,
        () => supervisorReady(node, target.name),
        () =>
          `Failed to validate connection to cluster at ${target.url}: Get "https://${target.address}:9345/cacerts": dial tcp ${target.address}:9345: connect: connection refused`,
      ),
    );
    if (!tokenValid(node, cfg, target.name))
      throw new Fatal(`Failed to validate connection to cluster at ${target.url}: token is not valid`);
    try {
      await joinCluster(node, cfg, target.address, j);
    } catch (error) {
      // k3s-io/k3s pkg/etcd/etcd.go Start(): logrus.Fatalf("ETCD join failed: %v", err)
      throw new Fatal(`ETCD join failed: ${(error as Error).message}`);
    }
    joining = { address: target.address };
  } else if (!downgradeBlocked(cfg, binaryEtcd, j)) {
    j.info(
      hasMemberData(cfg) ? 'Starting etcd for existing cluster member' : 'Starting etcd for new cluster',
    );
    await startMember(node, cfg);
  }
  const etcdStarted = Date.now();
  let learner = false;
  await must(
    waitUntil(
      ctx,
      async () => {
        if (downgradeBlocked(cfg, binaryEtcd, null)) return false;
        if (!running('etcd')) {
          // etcd is a static pod: the kubelet restarts it.
          await startMember(node, cfg);
          return false;
        }
        // A learner does not answer the health check (it would only time out): ask the others.
        learner = memberStatus(node, cfg) === 'learner';
        if (learner) {
          if (Date.now() - etcdStarted >= timing.learnerPromotionDelaySec * 1000)
            promoteLearner(node, cfg, j);
          return false;
        }
        if (!healthy(node, node.address)) return false;
        return checkDataVersion(node, cfg, binaryEtcd, j) === 'ok';
      },
      () =>
        downgradeBlocked(cfg, binaryEtcd, null)
          ? 'Failed to test data store connection: etcd exited: invalid downgrade; server version is lower than determined cluster version (see /var/lib/rancher/rke2/lab/run/etcd.log)'
          : learner
            ? 'Failed to test data store connection: this server has not yet been promoted from learner to voting member'
            : 'Waiting for etcd server to become available',
      300,
    ),
  );
  if (joining) j.info('etcd member promoted: this server is a voting member');
  if (faults.stuckJoin) {
    // Scenario peer-stuck-join: etcd joined, the control plane does not come up (until the
    // scenario is cleared).
    await must(
      waitUntil(
        ctx,
        () => !loadFaults().stuckJoin,
        () => 'Waiting for API server to become available',
      ),
    );
  }
  ensureToken(node, cfg);
  await ensureApiserver(node, cfg);
  await must(
    waitUntil(
      ctx,
      () => apiReady(node),
      () => 'Waiting for API server to become available',
      300,
    ),
  );
  j.info('Kube API server is now running');
  j.info('ETCD server is now running');
  await registerAndReady(ctx);
  j.info('rke2 is up and running');
}

async function runAgent(ctx: RunContext): Promise<void> {
  const { node, cfg, j } = ctx;
  j.info(`Starting rke2 agent ${installedVersion()} (lab)`);
  const target = joinTarget(node, cfg);
  // K3s agents retry the server connection every 2 s (k3s-io/k3s pkg/agent/config/config.go).
  await must(
    waitUntil(
      ctx,
      () => node.masters.some((m) => supervisorReady(node, m.name)),
      () =>
        `Failed to validate connection to cluster at ${target.url}: Get "https://${target.address}:9345/cacerts": dial tcp ${target.address}:9345: connect: connection refused`,
      2000,
    ),
  );
  const server = node.masters.find((m) => supervisorReady(node, m.name))!;
  if (!tokenValid(node, cfg, server.name))
    throw new Fatal(`Failed to validate connection to cluster at ${target.url}: token is not valid`);
  await registerAndReady(ctx);
}

/** `systemctl stop` (KillMode=process: etcd and the API keep running). */
export async function stop(node: NodeSimConfig, unit: Unit): Promise<number> {
  return stopUnit(node, unit);
}

/**
 * rke2-killall.sh (rancher/rke2 bundle/bin/rke2-killall.sh): stops both units, then kills
 * every container process - here the etcd and kube-apiserver "static pods". The Node object is
 * left as it was: nothing posts its status any more, the node lifecycle controller marks it
 * Unknown after its grace period.
 */
export async function killall(node: NodeSimConfig): Promise<void> {
  for (const unit of ['rke2-server', 'rke2-agent'] as const) {
    if (unit === unitFor(node)) await stopUnit(node, unit);
  }
  const pid = readPid('kube-apiserver');
  killPid('kube-apiserver', 'SIGKILL');
  await waitGone(pid);
  await stopMember();
  void unitJournal;
}
