import type { SshCredentials, SshTarget } from '../ssh/types.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { evaluate } from './evaluate.js';
import { checkUrl, type FetchLike } from './http.js';
import { MasterProber, type Connector, type ProbeAttempt } from '../kube/probe-runner.js';
import type { Check, HealthExpectations, UrlExpectation } from './types.js';

export interface HealthConfig {
  cluster: string;
  /** Masters in inventory order: masters[0] is asked first. */
  masters: SshTarget[];
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
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * Polls until every check passes or the time budget runs out. Each poll is one SSH exec on a
 * master (plus the HTTP checks from here, concurrently); the evaluation is the pure `evaluate`.
 */
export async function runHealthCheck(config: HealthConfig, deps: HealthDeps): Promise<HealthReport> {
  const { clock, logger } = deps;
  const start = clock.now();
  const deadline = start + config.timeoutSeconds * 1000;
  const prober = new MasterProber(
    config.masters,
    {
      dataDir: config.dataDir,
      namespaces: namespacesOf(config.expectations),
      requestTimeoutSeconds: config.requestTimeoutSeconds,
    },
    deps.connect,
    {
      credentials: deps.credentials,
      logger,
      secrets: deps.secrets,
      // One attempt per poll: the poll loop is the retry, and a dead master-0 must not eat the budget.
      options: { attempts: 1, readyTimeoutMs: config.connectTimeoutSeconds * 1000 },
    },
    (config.requestTimeoutSeconds + 15) * 1000,
  );
  const history: PollRecord[] = [];
  let checks: Check[];
  let timeToHealthy: number | null = null;
  try {
    for (let poll = 1; ; poll++) {
      const pollStart = clock.now();
      checks = await logger.group(`poll ${poll}`, async () => {
        const [probe, http] = await Promise.all([
          // Every poll may spend one request timeout looking for a master, even at the deadline.
          prober.probe(
            () => clock.now() >= Math.max(deadline, pollStart + config.requestTimeoutSeconds * 1000),
          ),
          Promise.all(config.urls.map((u) => checkUrl(u, config.urlTimeoutSeconds * 1000, deps.fetch))),
        ]);
        for (const a of probe.attempts) logger.warning(`${a.host}: ${a.error}`);
        const unreachable = probe.attempts.map((a) => `${a.host}: ${a.error}`).join('; ');
        const result = [...evaluate(probe.state, config.expectations, unreachable), ...http];
        for (const c of result) logger.info(`${c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.message}`);
        history.push({
          poll,
          atSeconds: seconds(pollStart - start),
          durationMs: clock.now() - pollStart,
          via: probe.state?.probedVia ?? null,
          execs: probe.execs,
          unreachable: probe.attempts,
          failed: result.filter((c) => c.status === 'fail').map((c) => c.name),
        });
        return result;
      });
      if (!checks.some((c) => c.status === 'fail')) {
        timeToHealthy = seconds(clock.now() - start);
        break;
      }
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
    await prober.close();
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
  };
  return deps.secrets.redactDeep(report);
}

function namespacesOf(exp: HealthExpectations): string[] {
  // kube-system is always read: the etcd member check uses its static pods.
  return [...new Set(['kube-system', ...exp.pods.filter((p) => !p.skipReason).map((p) => p.namespace)])];
}
