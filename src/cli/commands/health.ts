import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../lib/errors.js';
import { consoleLogger } from '../../lib/logger.js';
import { SecretRegistry } from '../../lib/secrets.js';
import { runHealthCheck } from '../../health/run.js';
import { readHealthConfig, HealthInputs } from '../../health/config.js';
import { defaultHealthIo, type HealthIo } from '../../health/deps.js';
import { renderHealth, wantColor } from '../render-health.js';
import { ExitCode } from '../exit-codes.js';
import { inert, inertText } from '../../lib/inert.js';

interface HealthFlags {
  inventory?: string;
  host?: string[];
  user?: string;
  port?: string;
  sshKey?: string;
  knownHosts?: string;
  insecureSkipHostKeyVerification?: boolean;
  sshCheck?: string;
  dataDir?: string;
  expectedNodes?: string;
  expectedVersion?: string;
  systemPods?: string[];
  url?: string[];
  urlTimeout?: string;
  timeout?: string;
  pollInterval?: string;
  connectTimeout?: string;
  fail: boolean;
  json?: boolean;
  reportFile?: string;
  verbose?: boolean;
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
  [HealthInputs.sshKeyPassphrase]: '$RKE2OPS_SSH_KEY_PASSPHRASE',
  [HealthInputs.sshCheck]: '--ssh-check',
  [HealthInputs.dataDir]: '--data-dir',
  [HealthInputs.urlTimeout]: '--url-timeout',
  [HealthInputs.connectTimeout]: '--connect-timeout',
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
 * `rke2-ops health`: the health-check action from a laptop (or a workflow `run:` step). Flags
 * map onto the action's inputs and go through the same configuration layer (src/health/config);
 * people get a compact verdict table on stdout, scripts `--json` (the report), and
 * `--report-file` keeps it. Progress and warnings go to stderr. Exit codes: 0 healthy,
 * 1 not healthy (unless --no-fail), 2 bad input (nothing was contacted).
 */
export function registerHealth(program: Command, io: HealthIo = defaultHealthIo): void {
  program
    .command('health')
    .description(
      'check that a cluster is healthy (SSH trust and access, API, nodes, versions, system pods, etcd, URLs), polling until it is or the timeout',
    )
    .option('-i, --inventory <file>', 'inventory JSON file')
    .option('--host <address>', 'a master to probe instead of an inventory (repeatable)', collect)
    .option('--user <name>', 'SSH user with --host (default root; an inventory sets its own)')
    .option('--port <port>', 'SSH port with --host (default 22; an inventory sets its own)')
    .option(
      '-k, --ssh-key <file>',
      'SSH private key file (default: $RKE2OPS_SSH_KEY holds the key itself; a passphrase in $RKE2OPS_SSH_KEY_PASSPHRASE)',
    )
    .option('--known-hosts <file>', 'known_hosts file for nodes without pinned host keys')
    .option('--insecure-skip-host-key-verification', 'do not verify host keys (dangerous)')
    .option(
      '--ssh-check <scope>',
      'nodes that must accept the pinned host key and the key, checked once: all, masters or none (default all)',
    )
    .option(
      '--data-dir <path>',
      "RKE2 data dir on the nodes (default: the inventory's, else /var/lib/rancher/rke2)",
    )
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
    .option('--url-timeout <duration>', 'time limit per URL request (default 10)')
    .option('--timeout <duration>', 'give up after this long: 300, 90s, 5m (default 600)')
    .option('--poll-interval <duration>', 'time between polls (default 10)')
    .option('--connect-timeout <duration>', 'SSH handshake limit per node per poll (default 8)')
    .option('--no-fail', 'exit 0 even when the cluster is not healthy')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .option('--report-file <path>', 'also write the JSON report to this file')
    .option('-v, --verbose', 'print every check of every poll on stderr')
    .option('--debug', 'print debug output')
    .addHelpText(
      'after',
      '\nExit codes: 0 healthy, 1 not healthy (unless --no-fail), 2 bad input (nothing was contacted).',
    )
    .action(async (flags: HealthFlags) => {
      const logger = consoleLogger({ debug: flags.debug, verbose: Boolean(flags.verbose || flags.debug) });
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
        [HealthInputs.sshKeyPassphrase]: process.env.RKE2OPS_SSH_KEY_PASSPHRASE ?? '',
        [HealthInputs.knownHosts]: flags.knownHosts
          ? await readFlagFile('--known-hosts', flags.knownHosts)
          : '',
        [HealthInputs.insecureSkip]: flags.insecureSkipHostKeyVerification ? 'true' : '',
        [HealthInputs.sshCheck]: flags.sshCheck ?? '',
        [HealthInputs.dataDir]: flags.dataDir ?? '',
        [HealthInputs.expectedNodes]: flags.expectedNodes ?? '',
        [HealthInputs.expectedVersion]: flags.expectedVersion ?? '',
        [HealthInputs.systemPods]: (flags.systemPods ?? []).join('\n'),
        [HealthInputs.urls]: (flags.url ?? []).join('\n'),
        [HealthInputs.urlTimeout]: flags.urlTimeout ?? '',
        [HealthInputs.timeout]: flags.timeout ?? '',
        [HealthInputs.pollInterval]: flags.pollInterval ?? '',
        [HealthInputs.connectTimeout]: flags.connectTimeout ?? '',
      };
      const config = await withFlagNames(() => readHealthConfig((name) => values[name] ?? '', secrets));
      config.warnings.forEach((w) => logger.warning(w));
      const report = await runHealthCheck(config.health, {
        ...io,
        credentials: config.credentials,
        logger,
        secrets,
      });
      if (flags.reportFile) await writeFile(flags.reportFile, JSON.stringify(report, null, 2) + '\n');
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else
        process.stdout.write(
          renderHealth(report, { color: wantColor(process.stdout), width: process.stdout.columns }),
        );
      if (!report.healthy) {
        if (report.fatal) logger.error(`${report.cluster}: ${report.fatal}`);
        if (flags.fail) process.exitCode = ExitCode.failed;
      }
    });
}
