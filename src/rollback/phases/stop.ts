import { fanOut } from '../../ssh/fanout.js';
import { fail, seconds, type RollbackContext } from '../context.js';
import { killall } from '../commands.js';
import type { NodeResult } from '../types.js';
import type { ClusterTarget } from '../../inventory/targets.js';

/** `rke2-killall.sh` on every node: workers, then the other masters, then master-0; parallel within a group. */
export async function stopAll(ctx: RollbackContext): Promise<NodeResult[]> {
  const { config } = ctx;
  const [m0, ...peers] = config.masters;
  const results: NodeResult[] = [];
  for (const group of [config.workers, peers, [m0!]] as ClusterTarget[][]) {
    if (!group.length) continue;
    const done = await fanOut(
      group,
      async (n) => {
        const t0 = ctx.now();
        const r = await ctx.batch(n, 'stop', [{ key: 'k', command: killall() }], config.timeouts.stop * 1000);
        const res: NodeResult = {
          node: n.name,
          startedAt: t0,
          durationSeconds: seconds(ctx.now() - t0),
          status: r.k!.code === 0 ? 'ok' : 'failed',
          message:
            r.k!.code === 0
              ? 'stopped'
              : `rke2-killall.sh exited ${r.k!.code}: ${r.k!.stderr.trim().slice(-300)}`,
        };
        ctx.deps.progress?.({
          type: 'node',
          phase: 'stop',
          node: n.name,
          status: res.status,
          message: res.message,
          seconds: res.durationSeconds,
        });
        return res;
      },
      { concurrency: 16 },
    );
    for (const d of done)
      results.push(
        d.ok
          ? d.value
          : {
              node: d.host,
              startedAt: ctx.now(),
              durationSeconds: seconds(d.durationMs),
              status: 'failed',
              message: d.error,
            },
      );
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length)
      fail(
        'stop',
        failed.map((f) => f.node).join(', '),
        failed.map((f) => `${f.node}: ${f.message}`).join('; '),
        'check rke2-killall.sh on the node; re-run (the rollback resumes)',
        results,
      );
  }
  return results;
}
