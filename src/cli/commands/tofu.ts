import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { consoleLogger } from '../../lib/logger.js';
import { InputError } from '../../lib/errors.js';
import { inert } from '../../lib/inert.js';
import { ExitCode } from '../exit-codes.js';
import { renderTofu } from '../render-tofu.js';
import { wantColor } from '../render-health.js';
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
import type { TofuDeps } from '../../tofu/session.js';

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
  verbose?: boolean;
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
  if (!version) throw new Error(`${inert(binary)} does not answer "tofu version -json"`);
  return { binary, version, source: 'path' as const };
}

/** The flag that carries each input, so errors name what the CLI user typed. */
const FLAG_OF: Record<string, string> = {
  [Inputs.workingDirectory]: '--working-directory',
  [Inputs.vars]: '--var',
  [Inputs.varFiles]: '--var-file',
  [Inputs.planArgs]: '--plan-arg',
  [Inputs.planFile]: '--plan-file',
  [Inputs.resourceChangesHash]: '--resource-changes-hash',
};

function withFlagNames<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const flag = error instanceof InputError ? FLAG_OF[error.field] : undefined;
    if (!flag || !(error instanceof InputError)) throw error;
    throw new InputError(flag, error.reason);
  }
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
      .option('--json', 'print the JSON report on stdout (instead of the plan and the summary)')
      .option('--report-file <path>', 'also write the JSON report here')
      .option('--verbose', "show tofu's progress (init, apply) on stderr")
      .option('--debug', 'print debug output')
      .addHelpText(
        'after',
        '\nExit codes: 0 ok, 1 failed (tofu failed, or apply refused), 2 bad input (tofu was not run).',
      );

  const run = async (command: 'plan' | 'apply' | 'output', flags: TofuFlags) => {
    const logger = consoleLogger({ debug: flags.debug, verbose: Boolean(flags.verbose || flags.debug) });
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
    const config = withFlagNames(() => parseTofuConfig((name) => values[name] ?? '', { cwd: process.cwd() }));
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
    else {
      // The plan as tofu renders it (sensitive values hidden, registered ones redacted), then the summary.
      if ('view' in result && result.view) process.stdout.write(result.view.planText.trimEnd() + '\n\n');
      if ('outputs' in result && result.outputs)
        process.stdout.write(JSON.stringify(result.outputs.outputs, null, 2) + '\n');
      process.stdout.write(secrets.redact(renderTofu(report, { color: wantColor(process.stdout) })));
    }
    if (!report.ok) process.exitCode = ExitCode.failed;
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
