import type { SshCredentials, SshTarget } from '../ssh/types.js';
import { SshPool, type Connector } from '../ssh/pool.js';
import { checkSshAccess, sshCheckTargets, type SshAccessResult, type SshCheckScope } from '../ssh/access.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { evaluate } from './evaluate.js';
import { checkUrl, type FetchLike } from './http.js';
import { MasterProber, type ProbeAttempt } from '../kube/probe-runner.js';
import { accessCheck, fatalProbeFailure, permanentFailures, trustCheck } from './ssh-checks.js';
import type { Check, HealthExpectations, UrlExpectation } from './types.js';

/** A node of the cluster as the health check sees it: where to reach it and its role. */
export type HealthNode = SshTarget & { role?: 'master' | 'worker' };

export interface HealthConfig {
  cluster: string;
  /** Masters in inventory order: masters[0] is asked first. */
  masters: SshTarget[];
  /** Every node of the inventory (masters first), for the SSH access check. */
  nodes: HealthNode[];
  /** Which nodes must accept the pinned host key and the credentials, checked once per run. */
  sshCheck: SshCheckScope;
  /** False only when verification was explicitly skipped (the ssh-trust check then says so). */
  hostKeysVerified: boolean;
  dataDir: string;
  expectations: HealthExpectations;
  urls: UrlExpectation[];
  timeoutSeconds: number;
  pollIntervalSeconds: number;
  urlTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  connectTimeoutSeconds: number;
}

export interface HealthDeps {
  connect: Connector;
  credentials: SshCredentials;
  logger: Logger;
  secrets: SecretRegistry;
  clock: Clock;
  fetch: FetchLike;
}

export interface PollRecord {
  poll: number;
  /** Seconds since the health check started. */
  atSeconds: number;
  durationMs: number;
  via: string | null;
  execs: number;
  unreachable: ProbeAttempt[];
  failed: string[];
  /** Where the poll's time went, for the master that answered (connect is 0 when reused). */
  timings?: { connectMs: number; execMs: number; evaluateMs: number };
}

export interface HealthReport {
  kind: 'health-check';
  cluster: string;
  healthy: boolean;
  verdict: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** Seconds from the start until the first all-pass poll; null when never healthy. */
  timeToHealthySeconds: number | null;
  polls: number;
  timeoutSeconds: number;
  pollIntervalSeconds: number;
  /** The checks of the last poll. */
  checks: Check[];
  failedChecks: string[];
  pollHistory: PollRecord[];
  /** Per-node SSH access (rollback readiness), checked once per run; unreachable nodes re-checked. */
  ssh: { check: SshCheckScope; nodes: SshAccessResult[] };
  /** Set when polling ended before the timeout because a failure cannot heal during the run. */
  stoppedEarly?: string;
  /** Set when the run ended at once: the one clear error (no master can ever be used). */
  fatal?: string;
  /** Milliseconds from process start to the start of the check (node start, bundle load, config). */
  startupMs: number;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * Polls until every check passes or the time budget runs out. Each poll is one SSH exec on a
 * master (plus the HTTP checks from here, concurrently); the evaluation is the pure `evaluate`.
 * The SSH access check runs alongside the first poll over the same connections, once per run
 * (an unreachable node is asked again on later polls). A failure that cannot heal - a wrong host
 * key or a refused key anywhere - ends the polling after that poll; one that leaves no master
 * usable ends the run at once with one clear error.
 */
export async function runHealthCheck(config: HealthConfig, deps: HealthDeps): Promise<HealthReport> {
  const { clock, logger } = deps;
  const startupMs = Math.round(performance.now());
  const start = clock.now();
  const deadline = start + config.timeoutSeconds * 1000;
  const pool = new SshPool(
    {
      credentials: deps.credentials,
      logger,
      secrets: deps.secrets,
      // One attempt per poll: the poll loop is the retry, and a dead master-0 must not eat the budget.
      options: { attempts: 1, readyTimeoutMs: config.connectTimeoutSeconds * 1000 },
    },
    deps.connect,
  );
  const prober = new MasterProber(
    config.masters,
    {
      dataDir: config.dataDir,
      namespaces: namespacesOf(config.expectations),
      requestTimeoutSeconds: config.requestTimeoutSeconds,
    },
    pool,
    (config.requestTimeoutSeconds + 15) * 1000,
  );
  const masterNames = new Set(config.masters.map((m) => m.name));
  const access = new Map<string, SshAccessResult>();
  let toCheck = sshCheckTargets(config.nodes, config.sshCheck);
  const history: PollRecord[] = [];
  let checks: Check[];
  let timeToHealthy: number | null = null;
  let stoppedEarly: string | undefined;
  let fatal: string | undefined;
  try {
    for (let poll = 1; ; poll++) {
      const pollStart = clock.now();
      checks = await logger.group(`poll ${poll}`, async () => {
        const [probe, http, reached] = await Promise.all([
          // Every poll may spend one request timeout looking for a master, even at the deadline.
          prober.probe(
            () => clock.now() >= Math.max(deadline, pollStart + config.requestTimeoutSeconds * 1000),
          ),
          Promise.all(config.urls.map((u) => checkUrl(u, config.urlTimeoutSeconds * 1000, deps.fetch))),
          (async () => {
            // The probe's own handshake first: the other nodes' handshakes then overlap the
            // remote probe instead of slowing down the connection the verdict waits for.
            if (poll === 1) await pool.get(config.masters[0]!).catch(() => undefined);
            return checkSshAccess(toCheck, pool);
          })(),
        ]);
        const evaluateStart = performance.now();
        for (const r of reached) access.set(r.node, r);
        // Nodes that failed in a way that may heal are asked again next poll; the others are settled.
        toCheck = toCheck.filter((t) => {
          const r = access.get(t.name);
          return r && !r.ok && (r.status === 'unreachable' || r.status === 'channel' || r.status === 'error');
        });
        // Workers were only checked, not used: release their connections.
        await Promise.all(config.nodes.filter((n) => !masterNames.has(n.name)).map((n) => pool.drop(n)));
        for (const a of probe.attempts) logger.warning(`${a.host}: ${a.error}`);
        for (const r of reached) if (!r.ok && !masterNames.has(r.node)) logger.warning(r.message);
        const outcomes = pool.outcomes();
        fatal = probe.state ? undefined : fatalProbeFailure(outcomes, [...masterNames]);
        const unreachable = probe.attempts.map((a) => `${a.host}: ${a.error}`).join('; ');
        const result = [
          trustCheck(outcomes, config.hostKeysVerified),
          accessCheck(
            sshCheckTargets(config.nodes, config.sshCheck).flatMap((n) => access.get(n.name) ?? []),
            config.sshCheck,
          ),
          ...evaluate(probe.state, config.expectations, fatal ?? unreachable),
          ...http,
        ];
        for (const c of result) logger.info(`${c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.message}`);
        const permanent = permanentFailures(outcomes);
        if (!fatal && permanent.length && result.some((c) => c.status === 'fail'))
          stoppedEarly = `stopped polling: ${permanent.join(', ')} cannot heal during this run`;
        history.push({
          poll,
          atSeconds: seconds(pollStart - start),
          durationMs: clock.now() - pollStart,
          via: probe.state?.probedVia ?? null,
          execs: probe.execs,
          unreachable: probe.attempts,
          failed: result.filter((c) => c.status === 'fail').map((c) => c.name),
          ...(probe.timings
            ? { timings: { ...probe.timings, evaluateMs: Math.round(performance.now() - evaluateStart) } }
            : {}),
        });
        return result;
      });
      if (!checks.some((c) => c.status === 'fail')) {
        timeToHealthy = seconds(clock.now() - start);
        break;
      }
      if (fatal || stoppedEarly) break;
      // Polls start every interval (not interval after the last one ended), so a recovery is
      // seen at most one interval plus one poll after it happens.
      const left = deadline - clock.now();
      if (left <= 0) break;
      const wait = Math.max(0, Math.min(pollStart + config.pollIntervalSeconds * 1000 - clock.now(), left));
      logger.info(
        `not healthy yet; next poll in ${seconds(wait)} s (${seconds(deadline - clock.now())} s left)`,
      );
      await clock.sleep(wait);
    }
  } finally {
    await pool.closeAll();
  }
  const end = clock.now();
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const healthy = failed.length === 0;
  const report: HealthReport = {
    kind: 'health-check',
    cluster: config.cluster,
    healthy,
    verdict: healthy
      ? `healthy after ${history.length} poll(s), ${timeToHealthy} s`
      : `NOT healthy after ${history.length} poll(s) in ${seconds(end - start)} s`,
    startedAt: new Date(start).toISOString(),
    finishedAt: new Date(end).toISOString(),
    durationSeconds: seconds(end - start),
    timeToHealthySeconds: timeToHealthy,
    polls: history.length,
    timeoutSeconds: config.timeoutSeconds,
    pollIntervalSeconds: config.pollIntervalSeconds,
    checks,
    failedChecks: failed,
    pollHistory: history,
    ssh: {
      check: config.sshCheck,
      nodes: sshCheckTargets(config.nodes, config.sshCheck).flatMap((n) => access.get(n.name) ?? []),
    },
    ...(stoppedEarly ? { stoppedEarly } : {}),
    ...(fatal ? { fatal } : {}),
    startupMs,
  };
  return deps.secrets.redactDeep(report);
}

function namespacesOf(exp: HealthExpectations): string[] {
  // kube-system is always read: the etcd member check uses its static pods.
  return [...new Set(['kube-system', ...exp.pods.filter((p) => !p.skipReason).map((p) => p.namespace)])];
}
