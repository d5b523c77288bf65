/**
 * The health check end to end on a 3+3 lab, through the BUNDLED action run as the runner runs
 * it (actions/health-check/dist/index.js on the Node 24 its action.yml declares, with INPUT_*
 * variables and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files) and through the CLI (node
 * bin/rke2-ops.js health): a healthy cluster, a cordoned node, a stopped worker, a recovery
 * during polling, SSH trust and readiness (a wrong host key on master-1, a worker whose sshd is
 * down, an unreachable master-0, a refused key) and the bad-upgrade scenario. Build first
 * (npm run build): this tests the committed bundles.
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from './lab.js';
import { runBundledAction, type ActionRun } from '../helpers/run-action.js';
import type { HealthReport } from '../../src/health/run.js';
import { fingerprint, parseHostKey } from '../../src/ssh/hostkeys.js';
import { makeKey } from '../helpers/keys.js';

jest.setTimeout(600_000);

const REPO = new URL('../..', import.meta.url).pathname;
const CLI = join(REPO, 'bin/rke2-ops.js');
const NAME = 'hc';
const M0 = `${NAME}-master-0`;
const W1 = `${NAME}-worker-1`;
const W2 = `${NAME}-worker-2`;
const KUBECTL = ['/var/lib/rancher/rke2/bin/kubectl', '--kubeconfig', '/etc/rancher/rke2/rke2.yaml'];

let lab: Lab;

beforeAll(async () => {
  // The lab's realistic timing is not under test here (the lab's own tests cover it).
  lab = await createLab({ masters: 3, workers: 3, name: NAME, scenario: 'healthy', timing: 'fast' });
});
afterAll(async () => {
  await lab?.destroy();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, cwd: tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

interface HealthActionRun extends ActionRun {
  report: HealthReport;
}

/** The bundled action through the shared runner-contract helper; the report file is kept. */
async function runAction(inputs: Record<string, string>): Promise<HealthActionRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'hc-runner-temp-'));
  const r = await runBundledAction(
    'health-check',
    { 'inventory-file': lab.inventoryPath, 'ssh-key': lab.privateKey, ...inputs },
    { RUNNER_TEMP: runnerTemp },
    300_000,
  );
  // No secret in anything the runner would show or keep.
  for (const text of [
    r.stdout.replace(/^::add-mask::.*$/gm, ''),
    r.stderr,
    r.summary,
    r.outputs.report ?? '',
  ]) {
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(lab.privateKey.split('\n')[1]!);
  }
  expect(r.nodeVersion).toMatch(/^v24\./);
  if (!r.outputs.report) throw new Error(`no report output (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { ...r, report: JSON.parse(r.outputs.report) as HealthReport };
}

interface CliRun extends Run {
  report: HealthReport;
}

/** The CLI with --json (the report on stdout); the human table is checked separately. */
async function runCli(args: string[]): Promise<CliRun> {
  const r = await run(
    [CLI, 'health', '-i', lab.inventoryPath, '--ssh-key', lab.privateKeyPath, '--json', ...args],
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
    },
  );
  if (!r.stdout.trim()) throw new Error(`CLI printed no report (exit ${r.code}):\n${r.stderr}`);
  return { ...r, report: JSON.parse(r.stdout) as HealthReport };
}

const check = (report: HealthReport, name: string) => report.checks.find((c) => c.name === name)!;

async function kubectl(args: string[]): Promise<string> {
  const r = await (await lab.shell(M0)).check([...KUBECTL, ...args]);
  return r.stdout;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function nodeReady(node: string): Promise<boolean> {
  const out = await kubectl([
    'get',
    'node',
    node,
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return out.trim() === 'True';
}

describe('healthy cluster', () => {
  test('the bundled action passes in one poll, sets every output and writes a summary', async () => {
    const r = await runAction({ timeout: '60', 'poll-interval': '2' });
    expect(r.code).toBe(0);
    expect(r.outputs.healthy).toBe('true');
    expect(r.outputs.polls).toBe('1');
    expect(r.outputs['failed-checks']).toBe('[]');
    expect(Number(r.outputs['time-to-healthy-seconds'])).toBeGreaterThanOrEqual(0);
    expect(Number(r.outputs['duration-seconds'])).toBeLessThan(10);
    expect(existsSync(r.outputs['report-file']!)).toBe(true);
    expect(r.report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'api',
        'nodes',
        'version',
        'etcd',
        'pods/kube-dns',
        'pods/kube-proxy',
        'pods/hcloud-ccm',
        'pods/etcd',
        'pods/kube-apiserver',
      ]),
    );
    expect(check(r.report, 'nodes').message).toBe('6/6 nodes Ready');
    expect(check(r.report, 'etcd').message).toBe('etcd serves the API, 3/3 members Ready');
    expect(r.report.pollHistory[0]).toMatchObject({ via: M0, execs: 1, unreachable: [] });
    expect(r.summary).toContain('✅ **Healthy**');
    expect(r.summary).toContain('| nodes | ✅ pass | 6/6 nodes Ready |');
    expect(r.stdout).toContain('::group::poll 1');
  });

  test('the action checks SSH access to every node once (rollback readiness), per node in report and summary', async () => {
    const r = await runAction({ timeout: '60' });
    const all = [...lab.inventory.masters, ...lab.inventory.workers];
    expect(r.report.ssh.check).toBe('all');
    expect(r.report.ssh.nodes.map((n) => [n.node, n.status])).toEqual(all.map((n) => [n.name, 'ok']));
    for (const n of r.report.ssh.nodes)
      expect(n.hostKeyFingerprint).toBe(
        fingerprint(parseHostKey(all.find((x) => x.name === n.node)!.host_keys[0]!).blob),
      );
    expect(check(r.report, 'ssh-trust').status).toBe('pass');
    expect(check(r.report, 'ssh-check').message).toBe(
      '6/6 nodes accept the pinned host key and the credentials',
    );
    expect(r.summary).toContain('### SSH access (ssh-check: all)');
  });

  test('the CLI prints a compact verdict table for people', async () => {
    const r = await run(
      [CLI, 'health', '-i', lab.inventoryPath, '--ssh-key', lab.privateKeyPath, '--timeout', '60'],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${NAME}: HEALTHY \\(1 poll\\(s\\), healthy after [\\d.]+ s\\)\n`));
    expect(r.stdout).toMatch(/^ {2}pass {2}nodes +6\/6 nodes Ready$/m);
    // The verdict line and one line per check: ssh-trust, ssh-check, api, nodes, version, etcd, 5 pod checks.
    expect(r.stdout.trim().split('\n')).toHaveLength(12);
  });

  test('the CLI passes in one poll and prints the report as JSON', async () => {
    const r = await runCli(['--timeout', '60', '--expected-version', lab.inventory.rke2.version]);
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ healthy: true, polls: 1, failedChecks: [] });
    expect(check(r.report, 'version')).toMatchObject({
      status: 'pass',
      message: `all 6 nodes at ${lab.inventory.rke2.version}`,
    });
  });

  test('without an inventory: --host with keys from a known_hosts file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hc-known-hosts-'));
    const knownHosts = join(dir, 'known_hosts');
    const port = lab.inventory.ssh.port;
    writeFileSync(
      knownHosts,
      lab.inventory.masters.map((m) => `[${m.address}]:${port} ${m.host_keys[0]}`).join('\n') + '\n',
    );
    const [m0, m1] = lab.inventory.masters;
    const r = await run(
      [
        CLI,
        'health',
        '--json',
        '--host',
        m0!.address,
        '--host',
        m1!.address,
        '--port',
        String(port),
        '--known-hosts',
        knownHosts,
        '--ssh-key',
        lab.privateKeyPath,
        '--timeout',
        '30',
      ],
      { PATH: process.env.PATH, HOME: process.env.HOME },
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as HealthReport;
    expect(report.healthy).toBe(true);
    expect(report.pollHistory[0]!.via).toBe(m0!.address);
    // Node count and masters come from the API itself: every listed node, masters by label.
    expect(check(report, 'nodes').message).toBe('6/6 nodes Ready');
    expect(check(report, 'pods/etcd').message).toBe('3/3 masters have a Ready pod');
  });

  test('a cordoned node (Ready,SchedulingDisabled) is still counted Ready', async () => {
    await kubectl(['cordon', W1]);
    try {
      expect(await kubectl(['get', 'node', W1, '--no-headers'])).toMatch(/\sReady,SchedulingDisabled\s/);
      const r = await runAction({ timeout: '30' });
      expect(r.outputs.healthy).toBe('true');
      expect(check(r.report, 'nodes').message).toBe(`6/6 nodes Ready; cordoned but Ready: ${W1}`);
      expect(check(r.report, 'nodes').observed).toMatchObject({ ready: 6, cordoned: [W1] });
      const c = await runCli(['--timeout', '30']);
      expect(c.code).toBe(0);
      expect(check(c.report, 'nodes').observed).toMatchObject({ ready: 6, cordoned: [W1] });
    } finally {
      await kubectl(['uncordon', W1]);
    }
  });
});

describe('HTTP URLs, checked from the runner', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/heartbeat') res.writeHead(200).end('{"mysql": "ok", "mongodb": "ok"}');
      else res.writeHead(503).end('maintenance');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a passing and a failing URL: the gate fails on the URL alone, named', async () => {
    const r = await runAction({
      timeout: '2',
      'poll-interval': '1',
      urls: `${base}/heartbeat status=200 body=/"mongodb": "ok"/\n${base}/lms`,
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.outputs['failed-checks']!)).toEqual([`http ${base}/lms`]);
    expect(check(r.report, `http ${base}/heartbeat`).status).toBe('pass');
    expect(check(r.report, `http ${base}/lms`).message).toBe('HTTP 503, want 200-399');
    expect(r.stdout).toContain(`::error::cluster ${NAME} is NOT healthy`);
  });
});

describe('a stopped worker', () => {
  beforeAll(async () => {
    await lab.service(W2, 'stop', 'rke2-agent');
    await waitFor(`${W2} NotReady`, async () => !(await nodeReady(W2)));
  });
  afterAll(async () => {
    // Restarted by the recovery test; make sure, whatever happened.
    if (!(await nodeReady(W2))) await lab.service(W2, 'start', 'rke2-agent');
  });

  test('is reported NotReady by name; the step fails after setting its outputs', async () => {
    const r = await runAction({ timeout: '4', 'poll-interval': '1' });
    expect(r.code).toBe(1);
    expect(r.outputs.healthy).toBe('false');
    expect(r.outputs['time-to-healthy-seconds']).toBe('');
    expect(Number(r.outputs.polls)).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(r.outputs['failed-checks']!)).toContain('nodes');
    const nodes = check(r.report, 'nodes');
    expect(nodes.failing).toEqual([W2]);
    expect(nodes.message).toContain(`5/6 nodes Ready: ${W2} NotReady`);
    expect(r.stdout).toMatch(new RegExp(`::error::.*failed checks: .*nodes`));
    expect(r.stdout).toContain(`nodes [${W2}]`);
    expect(r.summary).toContain('❌ **Not healthy**');
  });

  test('the CLI exits 1 with the same finding; --no-fail exits 0', async () => {
    const r = await runCli(['--timeout', '3', '--poll-interval', '1']);
    expect(r.code).toBe(1);
    expect(check(r.report, 'nodes').failing).toEqual([W2]);
    const soft = await runCli(['--timeout', '1', '--no-fail']);
    expect(soft.code).toBe(0);
    expect(soft.report.healthy).toBe(false);
  });

  test('a cluster that recovers during polling is reported healthy with its time to healthy', async () => {
    const interval = 2;
    const pending = runAction({ timeout: '120', 'poll-interval': String(interval) });
    const spawnedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    await lab.service(W2, 'start', 'rke2-agent');
    const recoveredAfter = (Date.now() - spawnedAt) / 1000;
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.outputs.healthy).toBe('true');
    expect(Number(r.outputs.polls)).toBeGreaterThanOrEqual(2);
    expect(r.report.pollHistory[0]!.failed).toContain('nodes');
    const tth = Number(r.outputs['time-to-healthy-seconds']);
    expect(tth).toBeGreaterThan(2);
    // Detected within one poll interval (+ the poll itself and process start-up) of the recovery.
    expect(tth).toBeLessThanOrEqual(recoveredAfter + interval + 2);
  });
});

describe('an unreachable master-0', () => {
  beforeAll(async () => {
    await lab.stopSshd(M0);
  });
  afterAll(async () => {
    await lab.startSshd(M0);
  });

  test('the cluster verdict comes through the other masters; without ssh-check the run is healthy', async () => {
    const r = await runAction({ timeout: '30', 'connect-timeout': '3', 'ssh-check': 'none' });
    expect(r.outputs.healthy).toBe('true');
    expect(r.report.pollHistory[0]!.via).toBe(`${NAME}-master-1`);
    expect(r.report.pollHistory[0]!.unreachable).toEqual([expect.objectContaining({ host: M0 })]);
    expect(r.summary).toContain(`Not answering: ${M0}`);
    expect(r.stdout).toContain(`::warning::${M0}: unreachable`);
  });

  test('by default ssh-check fails on it: a rollback could not reach master-0', async () => {
    const r = await runAction({ timeout: '3', 'poll-interval': '1', 'connect-timeout': '3' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.outputs['failed-checks']!)).toEqual(['ssh-check']);
    expect(check(r.report, 'ssh-check').failing).toEqual([M0]);
    expect(check(r.report, 'api').status).toBe('pass');
  });

  test('the CLI too', async () => {
    const r = await runCli(['--timeout', '30', '--ssh-check', 'none']);
    expect(r.code).toBe(0);
    expect(r.report.pollHistory[0]!.via).toBe(`${NAME}-master-1`);
  });
});

describe('SSH trust and readiness', () => {
  /** The lab's inventory with master-1 pinned to a key it does not hold (as after a rebuild, or an impostor). */
  function inventoryWithWrongPin(): string {
    const inv = JSON.parse(readFileSync(lab.inventoryPath, 'utf8')) as typeof lab.inventory;
    inv.masters[1]!.host_keys = [makeKey().publicLine];
    const file = join(mkdtempSync(join(tmpdir(), 'hc-wrong-pin-')), 'inventory.json');
    writeFileSync(file, JSON.stringify(inv));
    return file;
  }

  test('a wrong host key on master-1 only fails ssh-trust, naming the node and the key it presented', async () => {
    const presented = fingerprint(parseHostKey(lab.inventory.masters[1]!.host_keys[0]!).blob);
    const r = await runAction({ 'inventory-file': inventoryWithWrongPin(), timeout: '60' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.outputs['failed-checks']!)).toEqual(['ssh-trust', 'ssh-check']);
    expect(check(r.report, 'ssh-trust').failing).toEqual([`${NAME}-master-1`]);
    expect(check(r.report, 'ssh-trust').message).toContain(`${NAME}-master-1 (presented ${presented})`);
    expect(check(r.report, 'api').status).toBe('pass'); // master-0 answered
    expect(r.report.polls).toBe(1); // cannot heal: no polling until the timeout
  });

  test('a worker whose sshd is down is reported before an upgrade needs it', async () => {
    const worker = `${NAME}-worker-0`;
    await lab.stopSshd(worker);
    try {
      const r = await runAction({ timeout: '3', 'poll-interval': '1', 'connect-timeout': '3' });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.outputs['failed-checks']!)).toEqual(['ssh-check']);
      expect(r.report.ssh.nodes.find((n) => n.node === worker)).toMatchObject({
        ok: false,
        status: 'unreachable',
      });
      expect(check(r.report, 'nodes').status).toBe('pass'); // its kubelet still reports Ready
    } finally {
      await lab.startSshd(worker);
    }
  });

  test('a key no node accepts ends the run at once with one clear error', async () => {
    const r = await runAction({ 'ssh-key': makeKey().privateKey, timeout: '120' });
    expect(r.code).toBe(1);
    expect(r.report.polls).toBe(1);
    expect(r.report.fatal).toMatch(/^every master refused the SSH key \(as root\)/);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toHaveLength(1);
  });
});

describe('bad upgrade (last: it changes the cluster)', () => {
  let badVersion: string;
  beforeAll(async () => {
    await lab.applyScenario('bad-upgrade');
    const versions = await kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[*].status.nodeInfo.kubeletVersion}',
    ]);
    badVersion = [...new Set(versions.trim().split(/\s+/))].join(' ');
  });

  test('checked against the pre-upgrade version: fails naming the nodes, their versions and the failing pods', async () => {
    expect(badVersion).not.toBe(lab.inventory.rke2.version);
    const r = await runAction({
      timeout: '3',
      'poll-interval': '1',
      'expected-version': lab.inventory.rke2.version,
    });
    expect(r.code).toBe(1);
    expect(r.outputs.healthy).toBe('false');
    const failed = JSON.parse(r.outputs['failed-checks']!) as string[];
    expect(failed).toEqual(expect.arrayContaining(['version', 'pods/kube-dns']));
    const version = check(r.report, 'version');
    expect(version.message).toContain(`6/6 nodes not at ${lab.inventory.rke2.version}`);
    expect(version.message).toContain(`${M0} (${badVersion})`);
    const dns = check(r.report, 'pods/kube-dns');
    expect(dns.message).toContain('CrashLoopBackOff');
    expect(r.stdout).toMatch(/::error::.*failed checks: .*version.*pods\/kube-dns/s);
  });

  test('checked against the new version: the version passes, the crash-looping pods still fail the gate', async () => {
    const r = await runCli(['--timeout', '3', '--poll-interval', '1', '--expected-version', badVersion]);
    expect(r.code).toBe(1);
    expect(check(r.report, 'version').status).toBe('pass');
    expect(check(r.report, 'pods/kube-dns')).toMatchObject({ status: 'fail' });
    expect(check(r.report, 'pods/kube-dns').message).toContain('CrashLoopBackOff');
  });
});
