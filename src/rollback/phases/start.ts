import type { ClusterTarget } from '../../inventory/targets.js';
import { fail, seconds, type RollbackContext } from '../context.js';
import {
  etcdPods,
  isActive,
  killall,
  moveDbAside,
  nodeStates,
  parseEtcdPods,
  parseNodeStates,
  readyz,
  startNoBlock,
  type NodeState,
} from '../commands.js';
import type { NodeResult } from '../types.js';

/**
 * Starting the nodes again. Never a blocking `systemctl start` (RKE2's unit waits forever while a
 * server cannot join): start with --no-block, then poll what matters with the phase's own
 * deadline; a node that does not get there is reported with its unit state and journal tail.
 */
const POLL_MS = 1000;
/** A Node status counts when its heartbeat is no older than the start (allowing a little clock skew). */
const SKEW_S = 2;

function startEpoch(stdout: string, fallbackMs: number): number {
  const n = Number(stdout.trim().split('\n').pop());
  return Number.isFinite(n) && n > 0 ? n : Math.floor(fallbackMs / 1000);
}

async function stuck(
  ctx: RollbackContext,
  phase: string,
  node: ClusterTarget,
  t0: number,
  message: string,
  done: NodeResult[],
): Promise<never> {
  const d = await ctx.diagnose(node);
  const res: NodeResult = {
    node: node.name,
    startedAt: t0,
    durationSeconds: seconds(ctx.now() - t0),
    status: 'failed',
    message,
    unit: d.unit,
    logTail: d.logTail,
  };
  ctx.deps.progress?.({
    type: 'node',
    phase,
    node: node.name,
    status: 'failed',
    message,
    seconds: res.durationSeconds,
  });
  return fail(
    phase,
    node.name,
    `${message}\nunit: ${d.unit}\nlog tail:\n${d.logTail}`,
    'the node is named above with its unit state and log; fix it and re-run (the rollback resumes after the last completed phase)',
    [...done, res],
  );
}

/** master-0: start, then poll until its unit is active and /readyz answers ok. */
export async function startMaster0(ctx: RollbackContext): Promise<NodeResult[]> {
  const { config } = ctx;
  const m0 = ctx.master0;
  const t0 = ctx.now();
  const deadline = t0 + config.timeouts.start * 1000;
  await ctx.batch(m0, 'start-master', [{ key: 's', command: startNoBlock('master') }], 30_000);
  let last: string;
  for (;;) {
    const r = await ctx.batch(
      m0,
      'start-master',
      [
        { key: 'unit', command: isActive('master') },
        { key: 'readyz', command: readyz(config.paths) },
      ],
      20_000,
      { concurrent: true },
    );
    const unit = r.unit!.stdout.trim();
    if (unit === 'active' && r.readyz!.code === 0 && r.readyz!.stdout.trim() === 'ok') break;
    last = `unit ${unit || 'unknown'}, /readyz ${r.readyz!.code === 0 ? r.readyz!.stdout.trim() : 'no answer'}`;
    if (ctx.now() >= deadline)
      return stuck(
        ctx,
        'start-master',
        m0,
        t0,
        `${m0.name} did not serve the API within ${config.timeouts.start} s (${last})`,
        [],
      );
    await ctx.sleep(POLL_MS);
  }
  const res: NodeResult = {
    node: m0.name,
    startedAt: t0,
    durationSeconds: seconds(ctx.now() - t0),
    status: 'ok',
    message: 'unit active, /readyz ok',
  };
  ctx.deps.progress?.({
    type: 'node',
    phase: 'start-master',
    node: m0.name,
    status: 'ok',
    message: res.message,
    seconds: res.durationSeconds,
  });
  return [res];
}

/** One snapshot of what master-0's API says about the nodes and the etcd pods. */
async function clusterView(
  ctx: RollbackContext,
  phase: string,
): Promise<{ nodes: Map<string, NodeState>; etcd: Map<string, boolean> }> {
  const r = await ctx.batch(
    ctx.master0,
    phase,
    [
      { key: 'nodes', command: nodeStates(ctx.config.paths) },
      { key: 'etcd', command: etcdPods(ctx.config.paths) },
    ],
    20_000,
    { concurrent: true },
  );
  return {
    nodes: parseNodeStates(r.nodes!.code === 0 ? r.nodes!.stdout : ''),
    etcd: parseEtcdPods(r.etcd!.code === 0 ? r.etcd!.stdout : ''),
  };
}

const freshReady = (s: NodeState | undefined, since: number, version: string) =>
  Boolean(s && s.ready && s.heartbeat >= since - SKEW_S && s.version === version);

/**
 * The other masters, one at a time: keep `server/db` aside, start, wait until the unit is active
 * - RKE2 notifies systemd only once its etcd member has joined and been promoted, and etcd
 * refuses a second learner, so this is the gate before the next peer. Then every peer's Node
 * must be Ready at the target version with a status posted after its start (the Node objects
 * come back from the snapshot saying Ready) and its etcd pod Ready: waited for once at the end,
 * so one peer's kubelet start-up overlaps the next peer's join. `joined` (from the state file)
 * are not restarted; `onJoined` records each member as it joins.
 */
export async function joinPeers(
  ctx: RollbackContext,
  version: string,
  stamp: string,
  joined: readonly string[],
  onJoined: (node: string) => Promise<void>,
  /** Epoch seconds of the rollback's (first run's) start: every status from the snapshot is older. */
  notBefore: number,
): Promise<NodeResult[]> {
  const { config } = ctx;
  const results: NodeResult[] = [];
  const since = new Map<string, number>();
  const phaseStart = ctx.now();
  for (const peer of config.masters.slice(1)) {
    const t0 = ctx.now();
    if (joined.includes(peer.name)) {
      since.set(peer.name, notBefore);
      results.push({
        node: peer.name,
        startedAt: t0,
        durationSeconds: 0,
        status: 'ok',
        message: 'joined in an earlier run',
      });
      continue;
    }
    const deadline = t0 + config.timeouts.join * 1000;
    // After the stop phase only this rollback starts rke2-server on a peer, and only after moving
    // its db aside: a peer already active or activating was started by an interrupted run (its
    // member may be in the cluster already) - restarting it with an empty db would be refused as
    // a duplicate name, so it is waited for instead.
    const state = (
      await ctx.batch(peer, 'join-peers', [{ key: 'u', command: isActive('master') }], 20_000)
    ).u!.stdout.trim();
    if (state === 'active' || state === 'activating') {
      since.set(peer.name, notBefore);
      ctx.deps.logger.info(`${peer.name} is already ${state} (started by an interrupted run): not restarted`);
    } else {
      const r = await ctx.batch(
        peer,
        'join-peers',
        [
          { key: 'stop', command: killall(), stopOnFailure: true },
          { key: 'aside', command: moveDbAside(config.paths, stamp), stopOnFailure: true },
          { key: 'start', command: startNoBlock('master') },
        ],
        60_000,
      );
      if (r.start!.code !== 0 || !r.start!.ran)
        return stuck(
          ctx,
          'join-peers',
          peer,
          t0,
          `could not start ${peer.name}: ${(r.aside!.stderr || r.start!.stderr).trim()}`,
          results,
        );
      since.set(peer.name, startEpoch(r.start!.stdout, t0));
    }
    for (;;) {
      const unit = await ctx.batch(peer, 'join-peers', [{ key: 'u', command: isActive('master') }], 20_000);
      const u = unit.u!.stdout.trim();
      if (u === 'active') break;
      if (ctx.now() >= deadline)
        return stuck(
          ctx,
          'join-peers',
          peer,
          t0,
          `${peer.name} did not join within ${config.timeouts.join} s (unit ${u || 'unknown'}: its etcd member has not joined)`,
          results,
        );
      await ctx.sleep(POLL_MS);
    }
    await onJoined(peer.name);
    const res: NodeResult = {
      node: peer.name,
      startedAt: t0,
      durationSeconds: seconds(ctx.now() - t0),
      status: 'ok',
      message: 'etcd member (unit active)',
    };
    ctx.deps.progress?.({
      type: 'node',
      phase: 'join-peers',
      node: peer.name,
      status: 'ok',
      message: res.message,
      seconds: res.durationSeconds,
    });
    results.push(res);
  }
  // Every peer's Node Ready (fresh, at the version) and its etcd pod Ready.
  const deadline = Math.max(ctx.now(), phaseStart) + config.timeouts.join * 1000;
  const ready = new Set<string>();
  for (;;) {
    const view = await clusterView(ctx, 'join-peers');
    for (const res of results) {
      if (ready.has(res.node)) continue;
      if (
        freshReady(view.nodes.get(res.node), since.get(res.node) ?? notBefore, version) &&
        view.etcd.get(res.node) === true
      ) {
        ready.add(res.node);
        res.durationSeconds = seconds(ctx.now() - res.startedAt);
        res.message = `etcd member, Node Ready at ${version}`;
        ctx.deps.progress?.({
          type: 'node',
          phase: 'join-peers',
          node: res.node,
          status: 'ok',
          message: res.message,
          seconds: res.durationSeconds,
        });
      }
    }
    const waiting = results.filter((r) => !ready.has(r.node));
    if (!waiting.length) return results;
    if (ctx.now() >= deadline) {
      const w = waiting[0]!;
      const n = view.nodes.get(w.node);
      const node = config.masters.find((m) => m.name === w.node)!;
      return stuck(
        ctx,
        'join-peers',
        node,
        w.startedAt,
        `${w.node} joined etcd but its Node is not Ready at ${version} within ${config.timeouts.join} s (Node ${n ? (n.ready ? (n.heartbeat >= (since.get(w.node) ?? notBefore) - SKEW_S ? `Ready at ${n.version}` : 'Ready (stale status from the snapshot)') : 'NotReady') : 'missing'}, etcd pod ${view.etcd.get(w.node) ? 'Ready' : 'not Ready'})`,
        results.filter((r) => r !== w),
      );
    }
    await ctx.sleep(POLL_MS);
  }
}

/** Every worker at once: start, then wait until each Node is Ready at the version with a fresh status. */
export async function startWorkers(
  ctx: RollbackContext,
  version: string,
  /** Epoch seconds of the rollback's start: a worker started by an interrupted run posted after it. */
  notBefore: number,
): Promise<NodeResult[]> {
  const { config } = ctx;
  const t0 = ctx.now();
  const deadline = t0 + config.timeouts.workers * 1000;
  const since = new Map<string, number>();
  await Promise.all(
    config.workers.map(async (w) => {
      const r = await ctx.batch(
        w,
        'start-workers',
        [{ key: 'start', command: startNoBlock('worker') }],
        60_000,
      );
      since.set(w.name, Math.min(notBefore, startEpoch(r.start!.stdout, t0)));
    }),
  );
  const results = new Map<string, NodeResult>();
  for (;;) {
    const view = await clusterView(ctx, 'start-workers');
    for (const w of config.workers) {
      if (results.has(w.name)) continue;
      if (freshReady(view.nodes.get(w.name), since.get(w.name)!, version)) {
        const res: NodeResult = {
          node: w.name,
          startedAt: t0,
          durationSeconds: seconds(ctx.now() - t0),
          status: 'ok',
          message: `Node Ready at ${version}`,
        };
        results.set(w.name, res);
        ctx.deps.progress?.({
          type: 'node',
          phase: 'start-workers',
          node: w.name,
          status: 'ok',
          message: res.message,
          seconds: res.durationSeconds,
        });
      }
    }
    const waiting = config.workers.filter((w) => !results.has(w.name));
    if (!waiting.length) break;
    if (ctx.now() >= deadline) {
      const failed: NodeResult[] = [];
      for (const w of waiting) {
        const d = await ctx.diagnose(w);
        const n = view.nodes.get(w.name);
        const message = `not Ready within ${config.timeouts.workers} s (Node ${n ? (n.ready ? `Ready, status older than the start` : 'NotReady') : 'missing'})`;
        failed.push({
          node: w.name,
          startedAt: t0,
          durationSeconds: seconds(ctx.now() - t0),
          status: 'failed',
          message,
          unit: d.unit,
          logTail: d.logTail,
        });
        ctx.deps.progress?.({
          type: 'node',
          phase: 'start-workers',
          node: w.name,
          status: 'failed',
          message,
          seconds: seconds(ctx.now() - t0),
        });
      }
      return fail(
        'start-workers',
        waiting.map((w) => w.name).join(', '),
        failed.map((f) => `${f.node}: ${f.message}; unit: ${f.unit}\n${f.logTail}`).join('\n'),
        'the control plane is restored. Fix these workers and re-run (it resumes), or leave a lost one out with skip-nodes',
        [...results.values(), ...failed],
      );
    }
    await ctx.sleep(POLL_MS);
  }
  return config.workers.map((w) => results.get(w.name)!);
}
