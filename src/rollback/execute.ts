import { randomBytes } from 'node:crypto';
import { errorMessage } from '../lib/errors.js';
import { utcStamp } from '../rke2/names.js';
import type { RollbackConfig } from './config.js';
import { fail, RollbackContext, RollbackError, seconds } from './context.js';
import type { RollbackDeps } from './deps.js';
import { acquireLock, releaseLock, startHeartbeat } from './lock.js';
import { buildPlan, renderPlan, type PlannedPhase } from './plan.js';
import { preflight, type PreflightResult } from './preflight.js';
import { readState, resumable, writeState, STATE_FORMAT, type RollbackState } from './state.js';
import { stopAll } from './phases/stop.js';
import { reinstall } from './phases/install.js';
import { resetMaster0 } from './phases/reset.js';
import { joinPeers, startMaster0, startWorkers } from './phases/start.js';
import { veleroRestore } from './phases/velero.js';
import { healthAt } from './phases/health.js';
import {
  PHASE_IDS,
  type NodeResult,
  type PhaseId,
  type PhaseResult,
  type PreflightCheck,
  type RollbackReport,
} from './types.js';

/**
 * One rollback: preflight (reads only) -> plan -> (dry run: stop here) -> lock -> the phases in
 * order, the state file on master-0 written after each -> health at the snapshot's version ->
 * report. Data flows one way; every failure is a RollbackError naming the phase and node, and
 * ends in the report (never a hang: every wait has the phase's deadline).
 */
export async function runRollback(config: RollbackConfig, deps: RollbackDeps): Promise<RollbackReport> {
  const startupMs = Math.round(performance.now());
  const { clock, logger } = deps;
  const started = clock.now();
  const runId = `${utcStamp(new Date(started))}-${randomBytes(4).toString('hex')}`;
  const ctx = new RollbackContext(config, deps);
  const checks: PreflightCheck[] = [];
  const phases: PhaseResult[] = [];
  const warnings: string[] = [];
  const report: RollbackReport = {
    kind: 'rollback',
    cluster: config.cluster,
    dryRun: config.dryRun,
    ok: false,
    verdict: '',
    ssh: [],
    preflight: { checks, nodes: [] },
    plan: [],
    phases,
    runId,
    mttrSeconds: null,
    warnings,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    startupMs,
  };
  let stopBeat: (() => void) | null = null;
  let locked = false;
  let pf: PreflightResult | null = null;
  const phaseName = (id: PhaseId) => report.plan.find((p) => p.id === id)?.name ?? id;
  try {
    const tPre = clock.now();
    deps.progress?.({ type: 'phase-start', id: 'preflight', name: 'preflight (reads only)' });
    try {
      pf = await logger.group('preflight', () => preflight(ctx, checks));
    } finally {
      phases.push({
        id: 'preflight' as PhaseId,
        name: 'preflight',
        startedAt: tPre,
        durationSeconds: seconds(clock.now() - tPre),
        status: pf ? 'ok' : 'failed',
        nodes: [],
      });
      deps.progress?.({
        type: 'phase-end',
        id: 'preflight',
        name: 'preflight',
        status: pf ? 'ok' : 'failed',
        seconds: seconds(clock.now() - tPre),
      });
    }
    report.ssh = pf.ssh;
    report.preflight.nodes = pf.nodes;
    report.metadata = pf.metadata;
    report.version = pf.version;
    report.snapshot = {
      file: pf.file,
      sha256: pf.metadata.sha256,
      size: pf.metadata.size,
      resolvedFrom: pf.resolvedFrom,
      source: pf.source,
      createdAt: pf.metadata.createdAt,
    };
    const veleroBackup = config.velero ? (config.velero.backup ?? pf.metadata.velero?.name ?? null) : null;
    if (config.velero && !veleroBackup)
      fail(
        'preflight',
        ctx.master0.name,
        `velero-namespaces is set but ${pf.file} records no Velero backup`,
        'nothing was stopped. Give velero-backup, or leave velero-namespaces empty',
      );

    const shell0 = await ctx.shell(ctx.master0, 'preflight');
    const prior = await readState(shell0, config.paths);
    const resume = config.resume && resumable(prior, config.cluster, pf.file, pf.metadata.sha256);
    const state: RollbackState = resume
      ? { ...prior!, runId }
      : {
          format: STATE_FORMAT,
          runId,
          cluster: config.cluster,
          snapshot: pf.file,
          sha256: pf.metadata.sha256,
          startedAt: started,
          completed: [],
          joined: [],
          stamp: utcStamp(new Date(started)),
          finished: false,
        };
    if (resume) {
      report.resumedFrom = { runId: prior!.runId, completed: [...prior!.completed] };
      logger.info(
        `resuming the rollback of run ${prior!.runId}: ${prior!.completed.join(', ') || 'no phase'} already completed`,
      );
    }
    report.plan = buildPlan(config, {
      source: pf.source,
      version: pf.version,
      nodes: pf.nodes,
      stamp: state.stamp,
      veleroBackup,
    });
    logger.info(`plan:\n${renderPlan(report.plan)}`);
    if (config.dryRun) {
      report.ok = true;
      report.verdict = `dry run: ${pf.file} would be restored at ${pf.version} on ${config.nodes.length} node(s); nothing was changed`;
      return report;
    }

    const lock = await acquireLock(shell0, config.paths, runId, config.lockStaleSeconds);
    if (!lock.acquired)
      fail(
        'preflight',
        ctx.master0.name,
        `another rollback (run ${lock.owner}) holds the lock on ${ctx.master0.name}; its heartbeat is ${lock.ageSeconds} s old`,
        `nothing was stopped. Wait for it to finish; if it died, its lock goes stale after ${config.lockStaleSeconds} s of silence (lock-stale) and a re-run resumes it`,
      );
    locked = true;
    if (lock.takenOverFrom) warnings.push(`took over the stale lock of run ${lock.takenOverFrom}`);
    // Beat well within the stale limit: a live run must never look dead.
    stopBeat = startHeartbeat(shell0, config.paths, Math.min(5000, (config.lockStaleSeconds * 1000) / 3));
    await writeState(shell0, config.paths, state);

    const done = new Set(state.completed);
    const run = async (id: PhaseId, fn: () => Promise<NodeResult[]>, skipNote?: string) => {
      const t0 = clock.now();
      const name = phaseName(id);
      if (done.has(id) || skipNote) {
        phases.push({
          id,
          name,
          startedAt: t0,
          durationSeconds: 0,
          status: 'skipped',
          note: skipNote ?? 'completed in an earlier run',
          nodes: [],
        });
        return;
      }
      deps.progress?.({ type: 'phase-start', id, name });
      const rec: PhaseResult = { id, name, startedAt: t0, durationSeconds: 0, status: 'ok', nodes: [] };
      phases.push(rec);
      try {
        rec.nodes = await logger.group(name, fn);
      } catch (error) {
        rec.status = 'failed';
        if (error instanceof RollbackError) rec.nodes = error.nodes;
        rec.durationSeconds = seconds(clock.now() - t0);
        deps.progress?.({ type: 'phase-end', id, name, status: rec.status, seconds: rec.durationSeconds });
        throw error;
      }
      rec.durationSeconds = seconds(clock.now() - t0);
      // Recorded on master-0 before it is announced: a run killed after this line resumes after it.
      state.completed.push(id);
      await writeState(shell0, config.paths, state);
      deps.progress?.({ type: 'phase-end', id, name, status: rec.status, seconds: rec.durationSeconds });
    };
    const p = pf;
    await run('stop', () => stopAll(ctx));
    await run(
      'install',
      () => reinstall(ctx, p.nodes, p.version),
      p.nodes.some((n) => n.reinstall) ? undefined : `every node already runs ${p.version}`,
    );
    await run('reset', () => resetMaster0(ctx, p.source));
    await run('start-master', () => startMaster0(ctx));
    await run('join-peers', () =>
      joinPeers(
        ctx,
        p.version,
        state.stamp,
        state.joined,
        async (node) => {
          state.joined.push(node);
          await writeState(shell0, config.paths, state);
        },
        Math.floor(state.startedAt / 1000),
      ),
    );
    await run(
      'start-workers',
      () => startWorkers(ctx, p.version, Math.floor(state.startedAt / 1000)),
      config.workers.length ? undefined : 'no workers',
    );
    await run(
      'velero',
      async () => {
        const v = await veleroRestore(ctx, veleroBackup!, state.stamp);
        report.velero = v.outcome;
        return v.nodes;
      },
      config.velero ? undefined : 'no velero-namespaces given',
    );
    // The health check always runs (also on a resumed run whose earlier health check failed).
    done.delete('health');
    await run('health', async () => {
      const { report: h, healthy, excused } = await healthAt(ctx, p.version);
      report.health = {
        healthy,
        verdict: h.verdict,
        checks: h.checks,
        timeToHealthySeconds: h.timeToHealthySeconds,
      };
      for (const e of excused) warnings.push(`failing only on a skipped node: ${e}`);
      const message = healthy
        ? `healthy at ${p.version}${excused.length ? ` (skipped nodes excused: ${config.skipped.join(', ')})` : ''}`
        : h.verdict;
      if (healthy) report.health.verdict = message;
      const res: NodeResult = {
        node: config.cluster,
        startedAt: clock.now() - h.durationSeconds * 1000,
        durationSeconds: h.durationSeconds,
        status: healthy ? 'ok' : 'failed',
        message,
      };
      if (!healthy)
        fail(
          'health',
          h.failedChecks.join(', '),
          `the cluster is not healthy at ${p.version} after the rollback: ${h.checks
            .filter((c) => c.status === 'fail')
            .map((c) => `${c.name}: ${c.message}`)
            .join('; ')}`,
          'the restore itself completed; look at the failing checks (the report has them) and run the health check again',
          [res],
        );
      return [res];
    });
    state.finished = true;
    await writeState(shell0, config.paths, state);
    report.ok = true;
    report.mttrSeconds = seconds(clock.now() - state.startedAt);
    report.verdict = `rolled back to ${pf.file} at ${pf.version}: healthy; MTTR ${report.mttrSeconds} s${resume ? ' (resumed run)' : ''}`;
  } catch (error) {
    report.failure =
      error instanceof RollbackError
        ? error.failure
        : {
            phase: phases.at(-1)?.id ?? 'preflight',
            node: '-',
            message: errorMessage(error),
            next: 're-run; the rollback resumes after the last completed phase',
          };
    report.verdict = `rollback FAILED in ${report.failure.phase} on ${report.failure.node}`;
  } finally {
    stopBeat?.();
    if (locked)
      await releaseLock(
        await ctx.shell(ctx.master0, 'report').catch(() => null as never),
        config.paths,
        runId,
      ).catch((e: unknown) => warnings.push(`could not release the lock: ${errorMessage(e)}`));
    await ctx.close();
    const end = clock.now();
    report.finishedAt = new Date(end).toISOString();
    report.durationSeconds = seconds(end - started);
  }
  return deps.secrets.redactDeep(report);
}

export type { PlannedPhase };
export { PHASE_IDS };
