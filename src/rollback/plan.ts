import type { ClusterTarget } from '../inventory/targets.js';
import { sh, type ShellFragment } from '../lib/quote.js';
import type { RollbackConfig } from './config.js';
import {
  clusterReset,
  install,
  killall,
  moveAside,
  moveDbAside,
  readyz,
  startNoBlock,
  stateDir,
} from './commands.js';
import type { PhaseId, PreflightNode, RestoreSource } from './types.js';

/**
 * The plan: which command runs on which node in which phase, in order - pure data from the
 * config and the preflight's findings. A dry run prints it; execution follows it phase by phase
 * (phases/*.ts), so what the dry run shows is what a real run does.
 */
export interface PlannedStep {
  node: string;
  /** What it does, in words. */
  what: string;
  /** The shell command (secrets never appear in it). */
  command: string;
}

export interface PlannedPhase {
  id: PhaseId;
  name: string;
  /** How the nodes of a phase run: all at once, or one after another. */
  order: 'parallel' | 'sequential' | 'groups' | 'runner';
  steps: PlannedStep[];
  /** Why a phase does nothing (versions already right, no Velero namespaces). */
  note?: string;
}

export interface PlanInput {
  source: RestoreSource;
  /** The version every node must run: the snapshot's. */
  version: string;
  nodes: PreflightNode[];
  /** Used to name the kept server/db copies (`db.bak-<stamp>`). */
  stamp: string;
  veleroBackup: string | null;
}

const text = (f: ShellFragment) => f.text;

export function buildPlan(config: RollbackConfig, input: PlanInput): PlannedPhase[] {
  const [m0, ...peers] = config.masters as [ClusterTarget, ...ClusterTarget[]];
  const { paths } = config;
  const reinstall = input.nodes.filter((n) => n.reinstall);
  const step = (node: string, what: string, f: ShellFragment): PlannedStep => ({
    node,
    what,
    command: text(f),
  });
  const source = input.source;
  const reset =
    source.kind === 'local'
      ? clusterReset(paths, { kind: 'local', path: source.path }, config.timeouts.reset)
      : clusterReset(paths, { kind: 's3', file: source.file }, config.timeouts.reset);
  return [
    {
      id: 'stop',
      name: 'stop every node (rke2-killall.sh)',
      order: 'groups',
      steps: [...config.workers, ...peers, m0].map((n) =>
        step(
          n.name,
          `${n.role === 'worker' ? 'workers' : n === m0 ? 'master-0' : 'other masters'}: stop RKE2 and its pods`,
          killall(),
        ),
      ),
    },
    {
      id: 'install',
      name: `install ${input.version} where it differs`,
      order: 'parallel',
      steps: reinstall.map((n) =>
        step(
          n.node,
          `${n.version ?? 'unknown'} -> ${n.target}`,
          install(config.installCommand, n.target, n.role),
        ),
      ),
      ...(reinstall.length ? {} : { note: `every node already runs ${input.version}` }),
    },
    {
      id: 'reset',
      name: `cluster-reset on ${m0.name} (${source.kind === 'local' ? 'local file' : 'from S3'})`,
      order: 'sequential',
      steps: [
        step(m0.name, 'make sure nothing runs', killall()),
        ...(source.kind === 's3' && source.movedAsideLocal
          ? [
              step(
                m0.name,
                'move the damaged local copy aside',
                moveAside(`${paths.snapshotDir}/${source.file}`, `${stateDir(paths)}/${source.file}.damaged`),
              ),
            ]
          : []),
        step(m0.name, `restore, expect "restart without --cluster-reset flag now"`, reset),
      ],
    },
    {
      id: 'start-master',
      name: `start ${m0.name}, wait for the API`,
      order: 'sequential',
      steps: [
        step(m0.name, 'start without waiting on the unit', startNoBlock('master')),
        step(m0.name, 'poll until ok', readyz(paths)),
      ],
    },
    {
      id: 'join-peers',
      name: 'other masters, one at a time',
      order: 'sequential',
      steps: peers.flatMap((p) => [
        step(p.name, 'keep the old etcd data aside', moveDbAside(paths, input.stamp)),
        step(p.name, 'start; wait until etcd member and Node Ready', startNoBlock('master')),
      ]),
      ...(peers.length ? {} : { note: 'a single master' }),
    },
    {
      id: 'start-workers',
      name: 'start workers',
      order: 'parallel',
      steps: config.workers.map((w) => step(w.name, 'start; wait until Node Ready', startNoBlock('worker'))),
      ...(config.workers.length ? {} : { note: 'no workers' }),
    },
    {
      id: 'velero',
      name: 'Velero restore of the named namespaces',
      order: 'runner',
      steps: config.velero
        ? [
            step(
              m0.name,
              'delete the namespaces (Velero never overwrites)',
              sh`kubectl delete namespace ${config.velero.namespaces} --ignore-not-found --wait`,
            ),
            step(
              m0.name,
              `restore from backup ${input.veleroBackup ?? '(none recorded)'}; every PodVolumeRestore Completed`,
              sh`kubectl -n ${config.velero.namespace} create -f restore.json`,
            ),
          ]
        : [],
      ...(config.velero ? {} : { note: 'no velero-namespaces given' }),
    },
    {
      id: 'health',
      name: `health check at ${input.version}`,
      order: 'runner',
      steps: [step(m0.name, 'every node Ready at the version, system pods, etcd', sh`health-check`)],
    },
  ];
}

/** The plan as lines a person reads: phase, node, command. */
export function renderPlan(plan: readonly PlannedPhase[]): string {
  const lines: string[] = [];
  plan.forEach((p, i) => {
    lines.push(`${i + 1}. ${p.name} [${p.order}]${p.note ? ` - ${p.note}` : ''}`);
    for (const s of p.steps) lines.push(`   ${s.node}: ${s.what}\n     $ ${s.command}`);
  });
  return lines.join('\n');
}
