import { defaultPodRequirements, DEFAULTS } from '../../health/defaults.js';
import { runHealthCheck, type HealthReport } from '../../health/run.js';
import type { RollbackContext } from '../context.js';

/** The health check core at the snapshot's version, over every node that took part. */
export async function healthAt(ctx: RollbackContext, version: string): Promise<HealthReport> {
  const { config, deps } = ctx;
  const all = [...config.inventory.masters, ...config.inventory.workers].map((n) => n.name);
  return runHealthCheck(
    {
      cluster: config.cluster,
      masters: config.masters,
      nodes: config.nodes,
      sshCheck: 'none',
      hostKeysVerified: !config.nodes.some((n) => n.insecureSkipHostKeyVerification),
      dataDir: config.paths.dataDir,
      expectations: {
        nodeCount: config.nodes.length,
        // A skipped (lost) worker's Node is still in etcd: count the others as the minimum.
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
    },
    {
      connect: deps.connect,
      credentials: deps.credentials,
      logger: deps.logger,
      secrets: deps.secrets,
      clock: deps.clock,
      fetch: deps.fetch,
    },
  );
}
