import { sh } from '../../lib/quote.js';
import { kubectl } from '../../rke2/commands.js';
import { createObject, getBackup } from '../../velero/backup.js';
import type { KubeObject } from '../../velero/types.js';
import { fail, seconds, type RollbackContext } from '../context.js';
import type { NodeResult } from '../types.js';

/**
 * PVC data back to the backup's (rke2-facts.md §5.4): Velero never overwrites what exists, and
 * after the etcd restore the namespaces' PVCs point at volumes holding today's data - so the
 * namespaces are deleted first, then restored from the backup taken with the snapshot; every
 * PodVolumeRestore must end Completed. The Backup object may only come back through Velero's
 * backup sync after the etcd restore: it is waited for.
 */
const POLL_MS = 2000;

export interface VeleroOutcome {
  restore: string;
  phase: string;
  podVolumeRestores: { name: string; phase: string }[];
}

export async function veleroRestore(
  ctx: RollbackContext,
  backup: string,
  stamp: string,
): Promise<{ nodes: NodeResult[]; outcome: VeleroOutcome }> {
  const { config } = ctx;
  const v = config.velero!;
  const m0 = ctx.master0;
  const t0 = ctx.now();
  const deadline = t0 + config.timeouts.velero * 1000;
  const paths = config.paths;
  const timeLeft = () => Math.max(1, Math.round((deadline - ctx.now()) / 1000));
  const out = (message: string, next: string): never =>
    fail('velero', m0.name, message, next, [
      { node: m0.name, startedAt: t0, durationSeconds: seconds(ctx.now() - t0), status: 'failed', message },
    ]);

  // 1. The backup must exist and be Completed (backup sync re-creates it after the etcd restore).
  for (;;) {
    const r = await ctx.batch(
      m0,
      'velero',
      [{ key: 'b', command: getBackup(paths, v.namespace, backup) }],
      30_000,
    );
    if (r.b!.code === 0) {
      const phase = String((JSON.parse(r.b!.stdout) as KubeObject).status?.phase ?? '');
      if (phase === 'Completed') break;
      if (phase && phase !== 'InProgress' && phase !== 'New' && !phase.startsWith('Finalizing'))
        out(
          `Velero backup ${backup} is ${phase}: it cannot be restored from`,
          'restore the PVC data by hand from another backup',
        );
    }
    if (ctx.now() >= deadline)
      out(
        `Velero backup ${backup} did not appear Completed in ${v.namespace} within ${config.timeouts.velero} s`,
        'check the BackupStorageLocation and velero backup get',
      );
    await ctx.sleep(POLL_MS);
  }
  // 2. Delete the namespaces (and wait until they are gone).
  const del = await ctx.batch(
    m0,
    'velero',
    [
      {
        key: 'd',
        command: kubectl(
          paths,
          sh`delete namespace ${v.namespaces} --ignore-not-found --wait=true ${`--timeout=${timeLeft()}s`}`,
          timeLeft() + 5,
        ),
      },
    ],
    (timeLeft() + 30) * 1000,
  );
  if (del.d!.code !== 0)
    out(
      `could not delete namespaces ${v.namespaces.join(', ')}: ${del.d!.stderr.trim().slice(-400)}`,
      'a pod on a dead node keeps a namespace Terminating: fix or remove that node, then re-run',
    );
  // 3. The Restore.
  const name = `rollback-${stamp}`.toLowerCase();
  const manifest = {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name, namespace: v.namespace, labels: { 'app.kubernetes.io/managed-by': 'rke2-ops' } },
    spec: { backupName: backup, includedNamespaces: v.namespaces, restorePVs: true },
  };
  const c = await ctx.batch(
    m0,
    'velero',
    [
      {
        key: 'c',
        command: sh`${kubectl(paths, sh`-n ${v.namespace} get restores.velero.io ${name} -o name`)} 2>/dev/null || ${createObject(paths, manifest)}`,
      },
    ],
    30_000,
  );
  if (c.c!.code !== 0)
    out(`could not create Restore ${name}: ${c.c!.stderr.trim().slice(-400)}`, 'check Velero');
  let phase: string;
  let pvrs: { name: string; phase: string }[];
  for (;;) {
    const r = await ctx.batch(
      m0,
      'velero',
      [
        {
          key: 'r',
          command: kubectl(
            paths,
            sh`-n ${v.namespace} get restores.velero.io ${name} -o ${'jsonpath={.status.phase}'}`,
          ),
        },
        {
          key: 'p',
          command: kubectl(
            paths,
            sh`-n ${v.namespace} get podvolumerestores.velero.io -l ${`velero.io/restore-name=${name}`} -o ${'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}'}`,
          ),
        },
      ],
      30_000,
      { concurrent: true },
    );
    phase = r.r!.stdout.trim();
    pvrs = r
      .p!.stdout.split('\n')
      .filter(Boolean)
      .map((l) => {
        const [n, p] = l.split('\t');
        return { name: n!, phase: p ?? '' };
      });
    if (['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'].includes(phase)) break;
    if (ctx.now() >= deadline)
      out(
        `Velero restore ${name} is still ${phase || 'new'} after ${config.timeouts.velero} s`,
        `velero restore describe ${name} --details`,
      );
    await ctx.sleep(POLL_MS);
  }
  const badPvr = pvrs.filter((p) => p.phase !== 'Completed');
  if (phase !== 'Completed' || badPvr.length)
    out(
      `Velero restore ${name} ended ${phase}${badPvr.length ? `; PodVolumeRestores not Completed: ${badPvr.map((p) => `${p.name} ${p.phase || 'New'}`).join(', ')}` : ''}`,
      `velero restore describe ${name} --details; the etcd rollback itself is done`,
    );
  const message = `restore ${name} Completed, ${pvrs.length} PodVolumeRestore(s) Completed`;
  ctx.deps.progress?.({
    type: 'node',
    phase: 'velero',
    node: m0.name,
    status: 'ok',
    message,
    seconds: seconds(ctx.now() - t0),
  });
  return {
    nodes: [
      { node: m0.name, startedAt: t0, durationSeconds: seconds(ctx.now() - t0), status: 'ok', message },
    ],
    outcome: { restore: name, phase, podVolumeRestores: pvrs },
  };
}
