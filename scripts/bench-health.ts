/**
 * Benchmark: health-check verdict time on a healthy 3+3 lab (design.md section 9: one SSH exec
 * per poll; a healthy 6-node lab passes in one poll in < 1.5 s including connect).
 *
 *   npx tsx scripts/bench-health.ts [--runs 5] [--masters 3] [--workers 3]
 *
 * Needs root and the lab tools (bash scripts/setup-tools.sh lab). Measures, per run:
 *  - core: runHealthCheck in-process with a fresh SSH connection (connect + one poll + verdict);
 *  - bundle: `node actions/health-check/dist/index.js` as the runner starts it, process start to exit.
 * Counts the SSH execs of every poll through a counting connector.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLab } from '../test/lab/lab.js';
import { inputEnv, runBundledAction, runnerFiles } from '../test/helpers/run-action.js';
import { readHealthConfig } from '../src/health/config.js';
import { runHealthCheck } from '../src/health/run.js';
import { connect } from '../src/ssh/connection.js';
import { SecretRegistry } from '../src/lib/secrets.js';
import { silentLogger } from '../src/lib/logger.js';
import { systemClock } from '../src/lib/clock.js';
import type { Connector } from '../src/kube/probe-runner.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    masters: { type: 'string', default: '3' },
    workers: { type: 'string', default: '3' },
  },
});
const runs = Number(values.runs);
const masters = Number(values.masters);
const workers = Number(values.workers);
const REPO = new URL('..', import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

const t0 = Date.now();
const lab = await createLab({ masters, workers, name: 'benchhc', scenario: 'healthy' });
console.error(`lab ${masters}+${workers} up in ${fmt(Date.now() - t0)}`);
try {
  const secrets = new SecretRegistry();
  const inputs: Record<string, string> = {
    'inventory-file': lab.inventoryPath,
    'ssh-key': lab.privateKey,
    timeout: '60',
  };
  const config = await readHealthConfig((n) => inputs[n] ?? '', secrets);

  const core: number[] = [];
  const execsPerPoll: number[] = [];
  for (let i = 0; i < runs; i++) {
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
    const started = performance.now();
    const report = await runHealthCheck(config.health, {
      connect: counting,
      credentials: config.credentials,
      logger: silentLogger,
      secrets,
      clock: systemClock,
      fetch: (u, init) => fetch(u, init),
    });
    core.push(performance.now() - started);
    if (!report.healthy) throw new Error(`lab not healthy: ${report.failedChecks.join(', ')}`);
    execsPerPoll.push(execs / report.polls);
  }

  const bundle: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runBundledAction('health-check', {
      'inventory-file': lab.inventoryPath,
      'ssh-key': lab.privateKey,
      timeout: '60',
    });
    bundle.push(r.durationMs);
    if (r.code !== 0) throw new Error(`bundled action failed:\n${r.stdout}\n${r.stderr}`);
  }

  // Bundle start-up: process start to its first SSH connection (a local listener stands in for
  // master-0 and records the accept), the part of "start to first remote command" not spent in SSH.
  const startup: number[] = [];
  for (let i = 0; i < runs; i++) startup.push(await timeToFirstConnect(lab.privateKey));

  // Time to detect a recovery (design target: <= poll interval + 1 s): stop a worker's agent,
  // start polling, start the agent again, and time the healthy verdict from that moment.
  const worker = lab.inventory.workers.at(-1)?.name;
  let detect: { afterMs: number; polls: number } | undefined;
  const interval = 2;
  if (worker) {
    await lab.service(worker, 'stop', 'rke2-agent');
    const pending = runHealthCheck(
      { ...config.health, pollIntervalSeconds: interval },
      {
        connect,
        credentials: config.credentials,
        logger: silentLogger,
        secrets,
        clock: systemClock,
        fetch: (u, init) => fetch(u, init),
      },
    );
    await new Promise((r) => setTimeout(r, 3000));
    await lab.service(worker, 'start', 'rke2-agent');
    const recoveredAt = performance.now();
    const report = await pending;
    if (!report.healthy) throw new Error('the cluster did not recover');
    detect = { afterMs: performance.now() - recoveredAt, polls: report.polls };
  }

  const lines = [
    `health-check benchmark: healthy ${masters}+${workers} lab, ${runs} runs each (node ${process.version})`,
    `  core   (connect + one poll + verdict): median ${fmt(median(core))}, min ${fmt(Math.min(...core))}, max ${fmt(Math.max(...core))}`,
    `  bundle (node dist/index.js, start to exit): median ${fmt(median(bundle))}, min ${fmt(Math.min(...bundle))}, max ${fmt(Math.max(...bundle))}`,
    `  bundle start to first SSH connection: median ${fmt(median(startup))} (target for start to first remote command: < 0.6 s, connect+auth adds ~0.15 s)`,
    `  SSH execs per poll: ${[...new Set(execsPerPoll)].join(', ')}`,
    `  target: < 1.5 s including connect, 1 exec per poll -> ${median(core) < 1500 && execsPerPoll.every((e) => e === 1) ? 'MET' : 'NOT MET'}`,
    ...(detect
      ? [
          `  recovery detected ${fmt(detect.afterMs)} after ${worker}'s agent came back (poll interval ${interval} s, ${detect.polls} polls; target <= ${interval + 1} s) -> ${detect.afterMs <= (interval + 1) * 1000 ? 'MET' : 'NOT MET'}`,
        ]
      : []),
    `rerun: npx tsx scripts/bench-health.ts --runs ${runs} --masters ${masters} --workers ${workers}`,
  ];
  console.log(lines.join('\n'));
} finally {
  await lab.destroy();
}

async function timeToFirstConnect(privateKey: string): Promise<number> {
  const files = runnerFiles(mkdtempSync(join(tmpdir(), 'bench-hc-start-')));
  let started = 0;
  const accepted = new Promise<number>((resolve) => {
    const server = createServer((socket) => {
      resolve(performance.now() - started);
      socket.destroy();
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const inventory = {
        version: 1,
        cluster: 'startup',
        ssh: { port },
        masters: [{ name: 'm0', address: '127.0.0.1' }],
        rke2: { version: 'v1.34.4+rke2r1' },
      };
      started = performance.now();
      spawn(process.execPath, [join(REPO, 'actions/health-check/dist/index.js')], {
        stdio: 'ignore',
        env: {
          PATH: process.env.PATH,
          ...files,
          ...inputEnv({
            inventory: JSON.stringify(inventory),
            'ssh-key': privateKey,
            'insecure-skip-host-key-verification': 'true',
            timeout: '1',
          }),
        },
      });
    });
  });
  return accepted;
}
