import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ApplyConfig } from './config.js';
import { PhaseError, type TofuReport } from './report.js';
import { parsePlanJson } from './plan-json.js';
import { readOutputs, type OutputsResult } from './outputs.js';
import { registerSensitive, sensitiveValues } from './sensitive.js';
import { TofuSession, type TofuDeps } from './session.js';
import { countsLine, summarisePlan, type PlanSummary } from './summary.js';
import { inert } from '../lib/inert.js';

export interface ApplyResult {
  report: TofuReport;
  outputs?: OutputsResult;
}

/**
 * Applies a saved plan, and only the reviewed one: its normalised resource_changes hash must
 * equal the hash recorded when it was planned and reviewed. Then reads the outputs (the new
 * ops_inventory for the health check). Never throws for a tofu failure (see runPlan).
 */
export async function runApply(config: ApplyConfig, deps: TofuDeps): Promise<ApplyResult> {
  const session = new TofuSession('apply', config, deps);
  let summary: PlanSummary | undefined;
  let actualHash: string | undefined;
  const apply = () => ({
    applied: false,
    expectedHash: config.expectedHash,
    ...(actualHash ? { actualHash } : {}),
  });
  try {
    if (!existsSync(config.planFile))
      throw new PhaseError(
        'verify',
        `no saved plan at ${inert(config.planFile)}: download the plan step's plan-file first`,
      );
    await session.prepare();
    await session.timer.run('verify', async () => {
      const jsonFile = `${config.planFile}.apply.json`;
      const run = await session.run(['show', '-json', config.planFile], { stdoutFile: jsonFile });
      session.check(
        run,
        'verify',
        `${inert(config.planFile)} is not a saved plan for this configuration; re-run the plan`,
      );
      const plan = parsePlanJson(await readFile(jsonFile, 'utf8'), config.planFile);
      registerSensitive(deps.secrets, sensitiveValues(plan));
      summary = summarisePlan(plan);
      actualHash = summary.resourceChangesHash;
      if (plan.errored)
        throw new PhaseError('verify', 'the saved plan is from a plan that errored: it cannot be applied');
      if (actualHash !== config.expectedHash)
        throw new PhaseError(
          'verify',
          `refusing to apply: the saved plan's resource changes differ from the reviewed plan ` +
            `(hash ${actualHash} here, ${config.expectedHash} reviewed; this plan: ${countsLine(summary.counts)}). ` +
            'Apply exactly what was reviewed: re-run the plan, review the new plan and its hash, and apply that.',
        );
      deps.logger.info(`plan verified: resource changes hash ${actualHash} is the reviewed one`);
    });
    await session.timer.run('apply', async () => {
      const run = await session.run(
        ['apply', '-input=false', '-no-color', ...session.lockArgs(), config.planFile],
        {
          echo: true,
        },
      );
      const stale = /stale|state.*changed|Saved plan is/i.test(run.stderr);
      session.check(
        run,
        'apply',
        stale
          ? 'the state changed since this plan was made; re-run the plan and review it again'
          : 'read the error above; the state may be partly applied - re-run the plan to see what is left',
      );
    });
    const outputs = await session.timer.run('outputs', () => readOutputs(session, false));
    return {
      report: session.report({
        ok: true,
        verdict: `${config.displayDirectory}: applied the reviewed plan (${countsLine(summary!.counts)})`,
        apply: { ...apply(), applied: true },
        plan: section(summary!, config.planFile),
        outputs: { names: outputs.names, sensitive: outputs.sensitive },
      }),
      outputs,
    };
  } catch (error) {
    return {
      report: session.failed(error, {
        apply: apply(),
        ...(summary ? { plan: section(summary, config.planFile) } : {}),
      }),
    };
  }
}

function section(summary: PlanSummary, planFile: string): NonNullable<TofuReport['plan']> {
  return {
    exitCode: summary.changes ? 2 : 0,
    changes: summary.changes,
    destructive: summary.destructive,
    counts: summary.counts,
    resources: summary.resources,
    outputChanges: summary.outputChanges,
    rke2Upgrade: summary.rke2Upgrade,
    warnings: summary.warnings,
    resourceChangesHash: summary.resourceChangesHash,
    files: { plan: planFile, json: `${planFile}.apply.json`, text: '' },
  };
}
