import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { runHealthCheck } from '../../health/run.js';
import { failureMessage } from '../../health/report.js';
import { readHealthConfig, HealthInputs } from '../../health/config.js';
import { defaultHealthIo, type HealthIo } from '../../health/deps.js';
import { writeReportFile } from '../../health/report-file.js';
import { inert, inertText } from '../../lib/inert.js';

interface HealthFlags {
  inventory?: string;
  host?: string[];
  user?: string;
  port?: string;
  sshKey?: string;
  knownHosts?: string;
  insecureSkipHostKeyVerification?: boolean;
  expectedNodes?: string;
  expectedVersion?: string;
  systemPods?: string[];
  url?: string[];
  timeout?: string;
  pollInterval?: string;
  fail: boolean;
  reportFile?: string;
  debug?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(
      flag,
      `cannot read ${inert(path)} (${(error as NodeJS.ErrnoException).code ?? inertText(String(error))})`,
    );
  }
}

/** The flag that carries each input, so errors name what the CLI user typed. */
const FLAG_OF: Record<string, string> = {
  [HealthInputs.inventoryFile]: '--inventory',
  [HealthInputs.host]: '--host',
  [HealthInputs.sshUser]: '--user',
  [HealthInputs.sshPort]: '--port',
  [HealthInputs.sshKey]: '--ssh-key',
  [HealthInputs.knownHosts]: '--known-hosts',
  [HealthInputs.expectedNodes]: '--expected-nodes',
  [HealthInputs.expectedVersion]: '--expected-version',
  [HealthInputs.systemPods]: '--system-pods',
  [HealthInputs.urls]: '--url',
  [HealthInputs.timeout]: '--timeout',
  [HealthInputs.pollInterval]: '--poll-interval',
};

/** Re-labels an input error with the flag (`--inventory (inventory-file.masters[0].address): ...`). */
async function withFlagNames<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const input = Object.keys(FLAG_OF).find(
      (i) => error.field === i || error.field.startsWith(`${i}.`) || error.field.startsWith(`${i}[`),
    );
    if (!input) throw error;
    const flag = FLAG_OF[input]!;
    const renamed = new InputError(error.field === input ? flag : `${flag} (${error.field})`, error.reason);
    renamed.message = renamed.message + error.message.slice(`${error.field}: ${error.reason}`.length);
    throw renamed;
  }
}

/**
 * `rke2-ops health`: the health-check action from a laptop. Flags map onto the action's inputs
 * and go through the same parser; the report goes to stdout as JSON, progress to stderr, and
 * the exit code is 1 when the cluster is not healthy (unless --no-fail).
 */
export function registerHealth(program: Command, deps: HealthIo = defaultHealthIo): void {
  program
    .command('health')
    .description(
      'check that a cluster is healthy (API, nodes, versions, system pods, etcd, URLs), polling until it is or the timeout',
    )
    .option('-i, --inventory <file>', 'inventory JSON file')
    .option('--host <address>', 'a master to probe instead of an inventory (repeatable)', collect)
    .option('--user <name>', 'SSH user with --host', 'root')
    .option('--port <port>', 'SSH port with --host', '22')
    .option('-k, --ssh-key <file>', 'SSH private key file (default: $RKE2OPS_SSH_KEY holds the key itself)')
    .option('--known-hosts <file>', 'known_hosts file for nodes without pinned host keys')
    .option('--insecure-skip-host-key-verification', 'do not verify host keys (dangerous)')
    .option(
      '--expected-nodes <n>',
      'at least this many nodes Ready; others are reported, not failed (default: every node of the inventory)',
    )
    .option('--expected-version <version>', 'every node must run this RKE2 version, e.g. v1.34.4+rke2r1')
    .option(
      '--system-pods <line>',
      '"<namespace> <selector> [per-node|per-master|<min>]" (repeatable; "defaults" adds the RKE2 defaults)',
      collect,
    )
    .option(
      '--url <line>',
      '"<url> [status=200-399] [body=<text or /regex/>]" checked from here (repeatable)',
      collect,
    )
    .option('--timeout <duration>', 'give up after this long (300, 90s, 5m)', '600')
    .option('--poll-interval <duration>', 'time between polls', '10')
    .option('--no-fail', 'exit 0 even when the cluster is not healthy')
    .option('--report-file <path>', 'also write the JSON report here')
    .option('--debug', 'print debug output')
    .action(async (flags: HealthFlags) => {
      const logger = consoleLogger({ debug: flags.debug });
      const secrets = new SecretRegistry();
      const sshKey = flags.sshKey
        ? await readFlagFile('--ssh-key', flags.sshKey)
        : (process.env.RKE2OPS_SSH_KEY ?? '');
      const values: Record<string, string> = {
        [HealthInputs.inventoryFile]: flags.inventory ?? '',
        [HealthInputs.host]: (flags.host ?? []).join('\n'),
        [HealthInputs.sshUser]: flags.user ?? '',
        [HealthInputs.sshPort]: flags.port ?? '',
        [HealthInputs.sshKey]: sshKey,
        [HealthInputs.knownHosts]: flags.knownHosts
          ? await readFlagFile('--known-hosts', flags.knownHosts)
          : '',
        [HealthInputs.insecureSkip]: flags.insecureSkipHostKeyVerification ? 'true' : '',
        [HealthInputs.expectedNodes]: flags.expectedNodes ?? '',
        [HealthInputs.expectedVersion]: flags.expectedVersion ?? '',
        [HealthInputs.systemPods]: (flags.systemPods ?? []).join('\n'),
        [HealthInputs.urls]: (flags.url ?? []).join('\n'),
        [HealthInputs.timeout]: flags.timeout ?? '',
        [HealthInputs.pollInterval]: flags.pollInterval ?? '',
      };
      const config = await withFlagNames(() => readHealthConfig((name) => values[name] ?? '', secrets));
      config.warnings.forEach((w) => logger.warning(w));
      const report = await runHealthCheck(config.health, {
        ...deps,
        credentials: config.credentials,
        logger,
        secrets,
      });
      let path: string;
      if (flags.reportFile) {
        path = flags.reportFile;
        await writeFile(path, JSON.stringify(report, null, 2) + '\n');
      } else path = await writeReportFile(report);
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      logger.info(`${report.cluster}: ${report.verdict} (report: ${path})`);
      if (!report.healthy) {
        logger.error(failureMessage(report));
        if (flags.fail) process.exitCode = 1;
      }
    });
}
