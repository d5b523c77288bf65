import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import {
  Inputs,
  parseTofuConfig,
  type ApplyConfig,
  type OutputConfig,
  type PlanConfig,
} from '../../tofu/config.js';
import { createTofuExec } from '../../tofu/exec.js';
import { tofuVersionOf } from '../../tofu/install.js';
import { runPlan } from '../../tofu/plan.js';
import { runApply } from '../../tofu/apply.js';
import { runOutput } from '../../tofu/outputs.js';
import type { TofuReport } from '../../tofu/report.js';
import type { TofuDeps } from '../../tofu/session.js';
import { countsLine } from '../../tofu/summary.js';

interface TofuFlags {
  workingDirectory: string;
  tofu?: string;
  var?: string[];
  varFile?: string[];
  planArg?: string[];
  planFile?: string;
  resourceChangesHash?: string;
  init: boolean;
  includeSensitive?: boolean;
  json?: boolean;
  reportFile?: string;
  debug?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The tofu on PATH (or --tofu): from a laptop there is no tool cache to install into. */
async function resolveLocalTofu(explicit: string | undefined) {
  const binary =
    explicit ??
    (process.env.PATH ?? '')
      .split(delimiter)
      .map((d) => join(d, 'tofu'))
      .find((p) => existsSync(p));
  if (!binary) throw new Error('no tofu on PATH: install OpenTofu, or give --tofu <path>');
  const version = await tofuVersionOf(binary);
  if (!version) throw new Error(`${binary} does not answer "tofu version -json"`);
  return { binary, version, source: 'path' as const };
}

/** Human lines for stderr; the JSON report goes to stdout with --json. */
function describe(report: TofuReport): string[] {
  const lines = [`${report.ok ? 'ok' : 'FAILED'}: ${report.verdict}`];
  const plan = report.plan;
  if (plan) {
    lines.push(`  changes: ${countsLine(plan.counts)}`);
    if (plan.rke2Upgrade)
      lines.push(`  RKE2 ${plan.rke2Upgrade.direction}: ${plan.rke2Upgrade.from} -> ${plan.rke2Upgrade.to}`);
    for (const w of plan.warnings) lines.push(`  ${w.severity.toUpperCase()}: ${w.message}`);
    lines.push(`  resource changes hash: ${plan.resourceChangesHash}`);
    if (report.command === 'plan') lines.push(`  plan file: ${plan.files.plan}`);
  }
  if (report.error) lines.push(`  ${report.error.phase}: ${report.error.message}`);
  return lines;
}

/**
 * `rke2-ops tofu plan|apply|output`: the tofu action's core from a laptop, with the same
 * stack-aware summary and the same rule for apply (only a saved plan whose resource changes
 * hash is the reviewed one). Flags map onto the action's input names.
 */
export function registerTofu(program: Command): void {
  const tofu = program
    .command('tofu')
    .description('OpenTofu plan / apply / output with the stack-aware summary');
  const common = (cmd: Command) =>
    cmd
      .option('-C, --working-directory <path>', 'the OpenTofu configuration', '.')
      .option('--tofu <path>', 'tofu binary (default: tofu on PATH)')
      .option('--no-init', 'do not run tofu init first')
      .option('--json', 'print the JSON report on stdout')
      .option('--report-file <path>', 'also write the JSON report here')
      .option('--debug', 'print debug output');

  const run = async (command: 'plan' | 'apply' | 'output', flags: TofuFlags) => {
    const logger = consoleLogger({ debug: flags.debug });
    const secrets = new SecretRegistry();
    const values: Record<string, string> = {
      [Inputs.command]: command,
      [Inputs.workingDirectory]: flags.workingDirectory,
      [Inputs.init]: flags.init ? 'true' : 'false',
      [Inputs.vars]: (flags.var ?? []).join('\n'),
      [Inputs.varFiles]: (flags.varFile ?? []).join('\n'),
      [Inputs.planArgs]: (flags.planArg ?? []).join('\n'),
      [Inputs.planFile]: flags.planFile ?? '',
      [Inputs.resourceChangesHash]: flags.resourceChangesHash ?? '',
      [Inputs.includeSensitiveOutputs]: flags.includeSensitive ? 'true' : '',
      [Inputs.comment]: 'false',
    };
    const config = parseTofuConfig((name) => values[name] ?? '', { cwd: process.cwd() });
    const deps: TofuDeps = {
      resolveTofu: () => resolveLocalTofu(flags.tofu),
      createExec: (binary, env) => createTofuExec(binary, { logger, secrets, env }),
      logger,
      secrets,
      clock: systemClock,
    };
    const result =
      config.command === 'plan'
        ? await runPlan(config as PlanConfig, deps)
        : config.command === 'apply'
          ? await runApply(config as ApplyConfig, deps)
          : await runOutput(config as OutputConfig, deps);
    const report = result.report;
    if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
    if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if ('outputs' in result && result.outputs)
      process.stdout.write(JSON.stringify(result.outputs.outputs, null, 2) + '\n');
    const [first, ...rest] = describe(report);
    if (report.ok) logger.info(first!);
    else logger.error(first!);
    rest.forEach((line) => logger.info(line));
    if (!report.ok) process.exitCode = 1;
  };

  common(tofu.command('plan').description('init, plan -out, and the stack-aware summary'))
    .option('--var <name=value>', 'a variable (repeatable; passed as TF_VAR_<name>)', collect)
    .option('--var-file <path>', 'a -var-file (repeatable)', collect)
    .option('--plan-arg <option>', 'an extra plan option such as -target=... (repeatable)', collect)
    .option('--plan-file <path>', 'where to save the plan (default: a temp dir)')
    .action((flags: TofuFlags) => run('plan', flags));
  common(
    tofu
      .command('apply')
      .description('apply a saved plan, only if its resource changes hash is the reviewed one'),
  )
    .requiredOption('--plan-file <path>', 'the saved plan')
    .requiredOption('--resource-changes-hash <sha256>', 'resource changes hash of the reviewed plan')
    .action((flags: TofuFlags) => run('apply', flags));
  common(tofu.command('output').description('tofu output -json, sensitive values withheld'))
    .option('--include-sensitive', 'include sensitive values')
    .action((flags: TofuFlags) => run('output', flags));
}
