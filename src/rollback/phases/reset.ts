import { inertText } from '../../lib/inert.js';
import { fail, seconds, type RollbackContext } from '../context.js';
import { clusterReset, killall, moveAside, RESET_DONE, stateDir } from '../commands.js';
import type { NodeResult, RestoreSource } from '../types.js';
import type { Step } from '../../rke2/batch.js';

/**
 * The cluster-reset restore on master-0 (rke2-facts.md §2.1): it must exit 0 AND print
 * "restart without --cluster-reset flag now"; anything else (a corrupt file, a reset that hangs
 * and is killed at the timeout) ends the rollback with RKE2's own output.
 */
export async function resetMaster0(ctx: RollbackContext, source: RestoreSource): Promise<NodeResult[]> {
  const { config } = ctx;
  const m0 = ctx.master0;
  const t0 = ctx.now();
  const steps: Step[] = [{ key: 'stop', command: killall(), stopOnFailure: true }];
  if (source.kind === 's3' && source.movedAsideLocal)
    steps.push({
      key: 'aside',
      command: moveAside(
        `${config.paths.snapshotDir}/${source.file}`,
        `${stateDir(config.paths)}/${source.file}.damaged`,
      ),
      stopOnFailure: true,
    });
  steps.push({
    key: 'reset',
    command:
      source.kind === 'local'
        ? clusterReset(config.paths, { kind: 'local', path: source.path }, config.timeouts.reset)
        : clusterReset(config.paths, { kind: 's3', file: source.file }, config.timeouts.reset),
  });
  const r = await ctx.batch(m0, 'reset', steps, config.timeouts.reset * 1000 + 30_000);
  const out = `${r.reset!.stdout}\n${r.reset!.stderr}`;
  const ok = r.reset!.ran && r.reset!.code === 0 && out.includes(RESET_DONE);
  const tail = inertText(out.trim().split('\n').slice(-8).join('\n'), 1500);
  const res: NodeResult = {
    node: m0.name,
    startedAt: t0,
    durationSeconds: seconds(ctx.now() - t0),
    status: ok ? 'ok' : 'failed',
    message: ok
      ? 'etcd restored; RKE2 said to restart without --cluster-reset'
      : r.reset!.code === 124 || r.reset!.code === 137
        ? `the reset did not finish within ${config.timeouts.reset} s and was killed`
        : `the reset exited ${r.reset!.code} without "${RESET_DONE}"`,
    ...(ok ? {} : { logTail: tail }),
  };
  ctx.deps.progress?.({
    type: 'node',
    phase: 'reset',
    node: m0.name,
    status: res.status,
    message: res.message,
    seconds: res.durationSeconds,
  });
  if (!ok)
    fail(
      'reset',
      m0.name,
      `${res.message}:\n${tail}`,
      'every node is stopped; read the output above, fix the cause and re-run (a stale reset-flag is removed), or restore by hand (rke2-facts §10)',
      [res],
    );
  return [res];
}
