/**
 * Benchmark: the health check's verdict on a healthy 3+3 lab against the floor - a bare OpenSSH
 * round trip `ssh master-0 kubectl get nodes` - in one run, so all figures share the machine's
 * load (issue #10; design.md section 9).
 *
 *   npx tsx scripts/bench-health.ts [--runs 7] [--masters 3] [--workers 3] [--name bench-hc]
 *
 * Needs root and the lab tools (bash scripts/setup-tools.sh lab). Per run, interleaved:
 *  - bare:   `ssh -i key master-0 <data_dir>/bin/kubectl get nodes` (OpenSSH client, pinned key);
 *            `ssh ... true` alone gives its connect + auth + session share;
 *  - CLI:    `node bin/rke2-ops.js health --json` (the operator's node), process start to exit;
 *  - bundle: actions/health-check/dist/index.js on the Node 24 action.yml declares, through the
 *            runner-contract helper, process start to exit.
 * The front ends' reports give the breakdown: process start + bundle load + config (startupMs),
 * SSH connect + auth (connectMs), the remote probe (execMs), evaluation (evaluateMs); the rest
 * is output and exit. Also counted: SSH execs per poll (target 1), and the time to detect a
 * recovery (target <= poll interval + 1 s), in-process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLab, type Lab } from '../test/lab/lab.js';
import { actionNode, runBundledAction } from '../test/helpers/run-action.js';
import { readHealthConfig } from '../src/health/config.js';
import { runHealthCheck, type HealthReport } from '../src/health/run.js';
import { connect } from '../src/ssh/connection.js';
import { SecretRegistry } from '../src/lib/secrets.js';
import { silentLogger } from '../src/lib/logger.js';
import { systemClock } from '../src/lib/clock.js';
import type { Connector } from '../src/ssh/pool.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    masters: { type: 'string', default: '3' },
    workers: { type: 'string', default: '3' },
    name: { type: 'string', default: 'bench-hc' },
  },
});
const runs = Number(values.runs);
const masters = Number(values.masters);
const workers = Number(values.workers);
const REPO = new URL('..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/rke2-ops.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const ms = (x: number) => `${Math.round(x)} ms`.padStart(7);

function timed(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

function bareSsh(lab: Lab, knownHosts: string, remote: string[]) {
  const m0 = lab.inventory.masters[0]!;
  return timed('ssh', [
    '-i',
    lab.privateKeyPath,
    '-p',
    String(lab.inventory.ssh.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    `${lab.inventory.ssh.user}@${m0.address}`,
    ...remote,
  ]);
}

interface Breakdown {
  wall: number;
  startup: number;
  connect: number;
  exec: number;
  evaluate: number;
}

function breakdown(wall: number, report: HealthReport): Breakdown {
  const t = report.pollHistory[0]?.timings;
  if (!report.healthy || report.polls !== 1 || !t)
    throw new Error(`not a one-poll healthy verdict: ${report.verdict}`);
  return { wall, startup: report.startupMs, connect: t.connectMs, exec: t.execMs, evaluate: t.evaluateMs };
}

function row(label: string, b: Breakdown[]): string {
  const m = (k: keyof Breakdown) => median(b.map((x) => x[k]));
  const rest = m('wall') - m('startup') - m('connect') - m('exec') - m('evaluate');
  return `  ${label.padEnd(20)} ${ms(m('wall'))} = start+load+config ${ms(m('startup'))} + connect/auth ${ms(m('connect'))} + remote probe ${ms(m('exec'))} + evaluation ${ms(m('evaluate'))} + output/exit ${ms(rest)}`;
}

const t0 = Date.now();
// The lab's realistic timing (Node Ready delay, lifecycle grace) is not what this measures.
const lab = await createLab({ masters, workers, name: values.name!, scenario: 'healthy', timing: 'fast' });
console.error(`lab ${masters}+${workers} up in ${s(Date.now() - t0)}`);
try {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hc-'));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    lab.inventory.masters
      .map((m) => `[${m.address}]:${lab.inventory.ssh.port} ${m.host_keys[0]}`)
      .join('\n') + '\n',
  );
  const kubectl = [
    `${lab.inventory.rke2.data_dir}/bin/kubectl`,
    '--kubeconfig',
    '/etc/rancher/rke2/rke2.yaml',
  ];
  // The CLI gets the environment the bundle gets from the runner-contract helper.
  const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
  const cliArgs = [
    CLI,
    'health',
    '-i',
    lab.inventoryPath,
    '--ssh-key',
    lab.privateKeyPath,
    '--json',
    '--timeout',
    '60',
  ];
  const bundleInputs = { 'inventory-file': lab.inventoryPath, 'ssh-key': lab.privateKey, timeout: '60' };

  // Warm-up (page cache, kubectl's discovery cache on master-0), not counted.
  await bareSsh(lab, knownHosts, [...kubectl, 'get', 'nodes']);
  await timed(process.execPath, cliArgs, cliEnv);
  await runBundledAction('health-check', bundleInputs);

  const bare: number[] = [];
  const bareTrue: number[] = [];
  const cli: Breakdown[] = [];
  const cliNoCheck: Breakdown[] = [];
  const bundle: Breakdown[] = [];
  const measures: (() => Promise<void>)[] = [
    async () => {
      const b = await bareSsh(lab, knownHosts, [...kubectl, 'get', 'nodes']);
      if (b.code !== 0 || !b.stdout.includes('Ready')) throw new Error(`bare ssh failed: ${b.stderr}`);
      bare.push(b.ms);
    },
    async () => {
      const t = await bareSsh(lab, knownHosts, ['true']);
      if (t.code !== 0) throw new Error(`bare ssh true failed: ${t.stderr}`);
      bareTrue.push(t.ms);
    },
    async () => {
      const c = await timed(process.execPath, cliArgs, cliEnv);
      if (c.code !== 0) throw new Error(`CLI failed (exit ${c.code}):\n${c.stderr}`);
      cli.push(breakdown(c.ms, JSON.parse(c.stdout) as HealthReport));
    },
    async () => {
      // Without the once-per-run SSH check of every node: on the lab every node's sshd shares
      // this machine's 2 cores, so the other 5 handshakes slow the probe itself.
      const n = await timed(process.execPath, [...cliArgs, '--ssh-check', 'none'], cliEnv);
      if (n.code !== 0) throw new Error(`CLI failed (exit ${n.code}):\n${n.stderr}`);
      cliNoCheck.push(breakdown(n.ms, JSON.parse(n.stdout) as HealthReport));
    },
    async () => {
      const r = await runBundledAction('health-check', bundleInputs);
      if (r.code !== 0) throw new Error(`bundled action failed:\n${r.stdout}\n${r.stderr}`);
      bundle.push(breakdown(r.durationMs, JSON.parse(r.outputs.report!) as HealthReport));
    },
  ];
  // Interleaved, each run in a rotated order: no variant always follows the same one (the
  // previous run's sessions are still being torn down on the nodes).
  for (let i = 0; i < runs; i++)
    for (let j = 0; j < measures.length; j++) await measures[(i + j) % measures.length]!();

  // In-process: SSH execs per poll, and the time to detect a recovery.
  const secrets = new SecretRegistry();
  const config = await readHealthConfig((n) => (bundleInputs as Record<string, string>)[n] ?? '', secrets);
  let execs = 0;
  const counting: Connector = async (target, deps) => {
    const shell = await connect(target, deps);
    return {
      target: shell.target,
      close: () => shell.close(),
      exec: (command, options) => {
        execs += 1;
        return shell.exec(command, options);
      },
    };
  };
  const io = { credentials: config.credentials, logger: silentLogger, secrets, clock: systemClock, fetch };
  const once = await runHealthCheck({ ...config.health, sshCheck: 'none' }, { ...io, connect: counting });
  const execsPerPoll = execs / once.polls;
  const worker = lab.inventory.workers.at(-1)?.name;
  let detect: { afterMs: number; polls: number } | undefined;
  const interval = 2;
  if (worker) {
    await lab.service(worker, 'stop', 'rke2-agent');
    const pending = runHealthCheck({ ...config.health, pollIntervalSeconds: interval }, { ...io, connect });
    await new Promise((r) => setTimeout(r, 3000));
    await lab.service(worker, 'start', 'rke2-agent');
    const recoveredAt = performance.now();
    const report = await pending;
    if (!report.healthy) throw new Error('the cluster did not recover');
    detect = { afterMs: performance.now() - recoveredAt, polls: report.polls };
  }

  const floor = median(bare);
  const ratio = (b: Breakdown[]) => (median(b.map((x) => x.wall)) / floor).toFixed(2);
  const cliNode = (await timed(process.execPath, ['--version'])).stdout.trim();
  const lines = [
    `health-check benchmark: healthy ${masters}+${workers} lab, ${runs} runs each, medians (CLI on node ${cliNode}, bundle on ${actionNode('health-check').version})`,
    `  ${'bare'.padEnd(20)} ${ms(floor)} = ssh master-0 kubectl get nodes (OpenSSH; connect+auth+session alone, \`ssh true\`: ${ms(median(bareTrue))})`,
    row('CLI', cli),
    row('bundle', bundle),
    row('CLI, ssh-check none', cliNoCheck),
    `  ratio to the bare round trip: CLI ${ratio(cli)}x, bundle ${ratio(bundle)}x, CLI without ssh-check ${ratio(cliNoCheck)}x (goal <= 1.5x)`,
    `  SSH execs per poll: ${execsPerPoll} (target 1)`,
    ...(detect
      ? [
          `  recovery detected ${s(detect.afterMs)} after ${worker}'s agent came back (poll interval ${interval} s, ${detect.polls} polls; target <= ${interval + 1} s) -> ${detect.afterMs <= (interval + 1) * 1000 ? 'MET' : 'NOT MET'}`,
        ]
      : []),
    `rerun: npx tsx scripts/bench-health.ts --runs ${runs} --masters ${masters} --workers ${workers}`,
  ];
  console.log(lines.join('\n'));
} finally {
  await lab.destroy();
}
