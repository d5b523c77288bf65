import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { systemClock } from '../../lib/clock.js';
import { inertText } from '../../lib/inert.js';
import { readGitHubContext } from '../../github/context.js';
import { createRestClient } from '../../github/rest.js';
import { IncidentInputs, readIncidentConfig } from '../../incident/config.js';
import { runIncident } from '../../incident/run.js';

interface IncidentFlags {
  report: string;
  repo?: string;
  snapshot?: string;
  rollbackWorkflow?: string;
  label?: string[];
  close: boolean;
  apiUrl?: string;
  json?: boolean;
  reportFile?: string;
  debug?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flag that carries each input, so errors name what the CLI user typed. */
const FLAG_OF: Record<string, string> = {
  [IncidentInputs.reportFile]: '--report',
  [IncidentInputs.report]: '--report',
  [IncidentInputs.githubToken]: '$GITHUB_TOKEN',
  [IncidentInputs.repository]: '--repo',
  [IncidentInputs.snapshot]: '--snapshot',
  [IncidentInputs.rollbackWorkflow]: '--rollback-workflow',
  [IncidentInputs.labels]: '--label',
};

async function withFlagNames<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const flag = error instanceof InputError ? FLAG_OF[error.field] : undefined;
    if (!flag || !(error instanceof InputError)) throw error;
    throw new InputError(flag, error.reason);
  }
}

/**
 * `rke2-ops incident`: the incident action's core from a laptop or a `run:` step - open,
 * comment on or close the cluster's incident issue from a report file (e.g. `rke2-ops health
 * --report-file`). The token comes from $GITHUB_TOKEN (or $GH_TOKEN), never a flag: flags show
 * in process listings. Exit codes: 0 done, 1 a GitHub call failed, 2 bad input (no call made).
 */
export function registerIncident(program: Command): void {
  program
    .command('incident')
    .description(
      "open, update or close the cluster's incident issue from an rke2-ops report (token in $GITHUB_TOKEN)",
    )
    .requiredOption('--report <file>', 'the JSON report (e.g. from `rke2-ops health --report-file`)')
    .option('--repo <owner/repo>', 'repository of the issue (default: $GITHUB_REPOSITORY)')
    .option('--snapshot <name>', 'newest verified snapshot, for the issue and the rollback command')
    .option('--rollback-workflow <file>', 'workflow the rollback command dispatches (default rollback.yml)')
    .option('--label <name>', 'extra label for a new issue (repeatable)', collect)
    .option('--no-close', 'leave the issue open when the report passes')
    .option('--api-url <url>', 'GitHub REST API (default: $GITHUB_API_URL, else https://api.github.com)')
    .option('--json', 'print the JSON result on stdout')
    .option('--report-file <path>', 'also write the JSON result to this file')
    .option('--debug', 'print debug output')
    .addHelpText('after', '\nExit codes: 0 done, 1 a GitHub call failed, 2 bad input (nothing was called).')
    .action(async (flags: IncidentFlags) => {
      const logger = consoleLogger({ debug: flags.debug });
      const secrets = new SecretRegistry();
      const env = process.env;
      const values: Record<string, string> = {
        [IncidentInputs.reportFile]: flags.report,
        [IncidentInputs.githubToken]: env.GITHUB_TOKEN || env.GH_TOKEN || '',
        [IncidentInputs.repository]: flags.repo ?? '',
        [IncidentInputs.snapshot]: flags.snapshot ?? '',
        [IncidentInputs.rollbackWorkflow]: flags.rollbackWorkflow ?? '',
        [IncidentInputs.labels]: (flags.label ?? []).join('\n'),
        [IncidentInputs.closeOnRecovery]: flags.close ? 'true' : 'false',
      };
      const config = await withFlagNames(() =>
        readIncidentConfig((name) => values[name] ?? '', secrets, {
          ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
        }),
      );
      const gh = readGitHubContext(flags.apiUrl ? { ...env, GITHUB_API_URL: flags.apiUrl } : env);
      const report = await runIncident(config.incident, {
        client: createRestClient({ token: config.token, baseUrl: gh.apiUrl }),
        logger,
        secrets,
        clock: systemClock,
        run: {
          ...(gh.runUrl ? { url: gh.runUrl } : {}),
          ...(gh.runId ? { id: gh.runId } : {}),
          ...(gh.runAttempt ? { attempt: gh.runAttempt } : {}),
        },
      });
      if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else
        process.stdout.write(`${inertText(report.verdict)}${report.issue ? `\n${report.issue.url}` : ''}\n`);
      report.warnings.forEach((w) => logger.warning(w));
    });
}
