import { fanOut } from '../../ssh/fanout.js';
import { rke2Version } from '../../rke2/commands.js';
import { parseRke2Version } from '../../rke2/parse.js';
import { fail, seconds, type RollbackContext } from '../context.js';
import { install } from '../commands.js';
import type { NodeResult, PreflightNode } from '../types.js';

/**
 * Installs the snapshot's RKE2 version on every node that runs another one, in parallel, before
 * any start (across a minor version the old binary must never start on new data). Each node's
 * `rke2 --version` afterwards must say the version.
 */
export async function reinstall(
  ctx: RollbackContext,
  nodes: PreflightNode[],
  version: string,
): Promise<NodeResult[]> {
  const { config } = ctx;
  const todo = config.nodes.filter((n) => nodes.find((p) => p.node === n.name)?.reinstall);
  const done = await fanOut(
    todo,
    async (n) => {
      const t0 = ctx.now();
      const r = await ctx.batch(
        n,
        'install',
        [
          { key: 'install', command: install(config.installCommand, version, n.role), stopOnFailure: true },
          { key: 'version', command: rke2Version() },
        ],
        config.timeouts.install * 1000,
      );
      const got = parseRke2Version(r.version!.stdout);
      const ok = r.install!.code === 0 && got === version;
      const res: NodeResult = {
        node: n.name,
        startedAt: t0,
        durationSeconds: seconds(ctx.now() - t0),
        status: ok ? 'ok' : 'failed',
        message: ok
          ? `installed ${version}`
          : r.install!.code !== 0
            ? `the install command exited ${r.install!.code}: ${(r.install!.stderr || r.install!.stdout).trim().slice(-400)}`
            : `rke2 --version says ${got ?? 'nothing'} after installing ${version}`,
      };
      ctx.deps.progress?.({
        type: 'node',
        phase: 'install',
        node: n.name,
        status: res.status,
        message: res.message,
        seconds: res.durationSeconds,
      });
      return res;
    },
    { concurrency: 16 },
  );
  const results = done.map((d): NodeResult =>
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
      'install',
      failed.map((f) => f.node).join(', '),
      failed.map((f) => `${f.node}: ${f.message}`).join('; '),
      `check install-command (${config.installCommand}) on the node; every node is stopped - re-run to resume`,
      results,
    );
  return results;
}
