import { defaultPodRequirements, DEFAULTS } from '../../health/defaults.js';
import { runHealthCheck, type HealthConfig, type HealthReport } from '../../health/run.js';
import type { RollbackContext } from '../context.js';

export interface RollbackHealth {
  report: HealthReport;
  healthy: boolean;
  /** Checks that failed only on skipped (lost) nodes: reported, not held against the rollback. */
  excused: string[];
}

/**
 * The health check core at the snapshot's version, over every node that took part. A skipped
 * (lost) worker's Node and pods are still in the restored etcd, so checks that fail ONLY on
 * skipped nodes are excused (and named); everything else must pass.
 */
export async function healthAt(ctx: RollbackContext, version: string): Promise<RollbackHealth> {
  const { config, deps } = ctx;
  const all = [...config.inventory.masters, ...config.inventory.workers].map((n) => n.name);
  const health: HealthConfig = {
    cluster: config.cluster,
    masters: config.masters,
    nodes: config.nodes,
    sshCheck: 'none',
    hostKeysVerified: !config.nodes.some((n) => n.insecureSkipHostKeyVerification),
    dataDir: config.paths.dataDir,
    expectations: {
      nodeCount: config.nodes.length,
      minimumOnly: config.skipped.length > 0,
      nodeNames: all.filter((n) => !config.skipped.includes(n)),
      masterNames: config.masters.map((m) => m.name),
      rke2Version: version,
      pods: defaultPodRequirements({ kubeProxy: config.kubeProxy }),
    },
    urls: [],
    timeoutSeconds: config.timeouts.health,
    pollIntervalSeconds: 2,
    urlTimeoutSeconds: DEFAULTS.urlTimeoutSeconds,
    requestTimeoutSeconds: DEFAULTS.requestTimeoutSeconds,
    connectTimeoutSeconds: config.connectTimeoutSeconds,
  };
  const hdeps = {
    connect: deps.connect,
    credentials: deps.credentials,
    logger: deps.logger,
    secrets: deps.secrets,
    clock: deps.clock,
    fetch: deps.fetch,
  };
  if (!config.skipped.length) {
    const report = await runHealthCheck(health, hdeps);
    return { report, healthy: report.healthy, excused: [] };
  }
  // With skipped nodes: one poll at a time, judged here.
  const deadline = ctx.now() + config.timeouts.health * 1000;
  const skipped = new Set(config.skipped);
  for (;;) {
    const report = await runHealthCheck({ ...health, timeoutSeconds: 1 }, hdeps);
    const failing = report.checks.filter((c) => c.status === 'fail');
    const excused = failing.filter((c) => c.failing?.length && c.failing.every((n) => skipped.has(n)));
    if (excused.length === failing.length)
      return { report, healthy: true, excused: excused.map((c) => `${c.name}: ${c.message}`) };
    if (ctx.now() >= deadline) return { report, healthy: false, excused: [] };
    await ctx.sleep(2000);
  }
}
