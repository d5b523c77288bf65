/**
 * The health check's two front ends as users run them - the committed action bundle on the
 * Node its action.yml declares (runner contract: INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY)
 * and the CLI bundle (`node bin/rke2-ops.js`) - against real OpenSSH servers on loopback: bad
 * input made inert, inputs an inventory overrides, a bad or encrypted key, refused
 * authentication, a wrong host key on one master, a worker whose sshd is down.
 *
 * The nodes are real sshd addresses; the cluster behind them is a fake kubectl in a per-test
 * data dir (the probe script itself runs for real in bash on the "node").
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBundledAction, type ActionRun } from '../helpers/run-action.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { makeKey } from '../helpers/keys.js';
import { fingerprint, parseHostKey } from '../../src/ssh/hostkeys.js';
import type { HealthReport } from '../../src/health/run.js';

jest.setTimeout(60_000);

const root = new URL('../..', import.meta.url).pathname;
const CLI = join(root, 'bin/rke2-ops.js');
const dir = mkdtempSync(join(tmpdir(), 'rke2ops-front-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      cwd: dir,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** No line a runner would read as a workflow command (`::name ...::`), on any stream. */
function workflowCommands(...texts: string[]): string[] {
  return texts.flatMap((t) => t.split('\n')).filter((l) => /^\s*::[a-z-]+/.test(l));
}

const KEY = makeKey().privateKey;

describe('every echoed value is inert', () => {
  test('CLI: a newline plus ::error:: in a path stays one quoted line; exit 2 (bad input)', async () => {
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, KEY);
    const evil = `${dir}/inv.json\n::error::pwned by a path`;
    const r = await runCli(['health', '--inventory', evil, '--ssh-key', keyFile]);
    expect(r.code).toBe(2);
    expect(workflowCommands(r.stdout, r.stderr)).toEqual([]);
    expect(r.stderr).toContain(`"${dir}/inv.json\\n::error::pwned by a path"`);
    expect(r.stderr).toMatch(/--inventory/);
  });

  test('CLI: commander echoes of unknown options are inert too', async () => {
    const r = await runCli(['health', '--bogus\n::error::x']);
    expect(r.code).toBe(2);
    expect(workflowCommands(r.stdout, r.stderr)).toEqual([]);
  });

  test('action (Node 24 bundle): a U+202E in expected-version is escaped in the error', async () => {
    const run = await runBundledAction('health-check', {
      host: '127.0.0.1',
      'insecure-skip-host-key-verification': 'true',
      'ssh-key': KEY,
      'expected-version': 'v1.34.4+rke2r1\u202e1r2ekr',
    });
    expect(run.nodeVersion).toMatch(/^v24\./);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '::error::expected-version: "v1.34.4+rke2r1\\u202e1r2ekr" is not a valid RKE2 version',
    );
    expect(run.stdout + run.stderr).not.toContain('\u202e');
  });
});

/**
 * A 3+3 "cluster" of real sshd addresses: masters and workers 0-1 on one server, worker-2 on a
 * server of its own so its sshd can be stopped. The nodes' kubectl is a script answering from a
 * recorded healthy 3+3 cluster, so everything but SSH is healthy.
 */
describe('against real sshd', () => {
  const M = ['127.0.203.1', '127.0.203.2', '127.0.203.3'];
  const W = ['127.0.203.4', '127.0.203.5'];
  const W2 = '127.0.203.6';
  let main: TestSshd;
  let lone: TestSshd;
  let dataDir: string;
  let keyFile: string;

  beforeAll(async () => {
    main = await startSshd({ addresses: [...M, ...W] });
    lone = await startLone();
    dataDir = join(dir, 'rke2');
    mkdirSync(join(dataDir, 'bin'), { recursive: true });
    const fixture = JSON.parse(
      readFileSync(new URL('../unit/fixtures/health/healthy-3x3.json', import.meta.url), 'utf8'),
    ) as {
      readyz: { stdout: string };
      nodes: { items: object[] };
      pods: Record<string, { items: object[] }>;
    };
    writeFileSync(join(dataDir, 'readyz'), fixture.readyz.stdout);
    writeFileSync(
      join(dataDir, 'cluster.json'),
      JSON.stringify({
        kind: 'List',
        items: [
          ...fixture.nodes.items.map((n) => ({ kind: 'Node', ...n })),
          ...fixture.pods['kube-system']!.items.map((p) => ({ kind: 'Pod', ...p })),
        ],
      }),
    );
    writeFileSync(
      join(dataDir, 'bin/kubectl'),
      [
        '#!/bin/bash',
        'case "$*" in',
        `  *readyz*) cat ${dataDir}/readyz ;;`,
        `  *"get nodes,pods -n kube-system -o json") cat ${dataDir}/cluster.json ;;`,
        '  *) echo "unexpected: $*" >&2; exit 99 ;;',
        'esac',
      ].join('\n') + '\n',
    );
    chmodSync(join(dataDir, 'bin/kubectl'), 0o755);
    keyFile = main.client.privatePath;
  });
  afterAll(async () => {
    await lone?.stop();
    await main?.stop();
  });

  function inventory(over: { masterKeys?: string[] } = {}) {
    const node = (name: string, address: string, key: string) => ({ name, address, host_keys: [key] });
    return {
      version: 1,
      cluster: 'prod-eu',
      ssh: { user: main.user, port: main.port },
      masters: M.map((a, i) => node(`prod-eu-master-${i}`, a, over.masterKeys?.[i] ?? main.hostKey)),
      workers: [
        ...W.map((a, i) => node(`prod-eu-worker-${i}`, a, main.hostKey)),
        node('prod-eu-worker-2', W2, lone.hostKey),
      ],
      rke2: { version: 'v1.34.4+rke2r1', data_dir: dataDir },
    };
  }

  function inventoryFile(inv: object): string {
    const file = join(mkdtempSync(join(dir, 'inv-')), 'inventory.json');
    writeFileSync(file, JSON.stringify(inv));
    return file;
  }

  async function action(
    inputs: Record<string, string>,
    inv: object = inventory(),
  ): Promise<ActionRun & { report?: HealthReport }> {
    const run = await runBundledAction('health-check', {
      'inventory-file': inventoryFile(inv),
      'ssh-key': main.clientKey,
      timeout: '30',
      'poll-interval': '1',
      'connect-timeout': '3',
      ...inputs,
    });
    expect(run.nodeVersion).toMatch(/^v24\./);
    return {
      ...run,
      ...(run.outputs.report ? { report: JSON.parse(run.outputs.report) as HealthReport } : {}),
    };
  }

  test('baseline: healthy, and every node accepts the pinned host key and the key (ssh-check: all)', async () => {
    const r = await action({});
    expect(r.code).toBe(0);
    expect(r.outputs.healthy).toBe('true');
    const names = r.report!.checks.map((c) => c.name);
    expect(names.slice(0, 3)).toEqual(['ssh-trust', 'ssh-check', 'api']);
    expect(r.report!.ssh.nodes.map((n) => [n.node, n.status])).toEqual(
      [0, 1, 2]
        .map((i) => [`prod-eu-master-${i}`, 'ok'])
        .concat([0, 1, 2].map((i) => [`prod-eu-worker-${i}`, 'ok'])),
    );
    expect(r.report!.ssh.nodes[5]!.hostKeyFingerprint).toBe(fingerprint(parseHostKey(lone.hostKey).blob));
    expect(r.summary).toContain('### SSH access (ssh-check: all)');
  });

  test('wrong host key on master-1 only: ssh-trust fails naming the node and the fingerprint presented', async () => {
    const impostorPin = makeKey().publicLine; // what the inventory pins; master-1 presents main's key
    const presented = fingerprint(parseHostKey(main.hostKey).blob);
    const r = await action({}, inventory({ masterKeys: [main.hostKey, impostorPin, main.hostKey] }));
    expect(r.code).toBe(1);
    expect(r.outputs.healthy).toBe('false');
    expect(JSON.parse(r.outputs['failed-checks']!)).toEqual(['ssh-trust', 'ssh-check']);
    const trust = r.report!.checks.find((c) => c.name === 'ssh-trust')!;
    expect(trust.failing).toEqual(['prod-eu-master-1']);
    expect(trust.message).toContain(`prod-eu-master-1 (presented ${presented})`);
    // The cluster itself answered through master-0; a mismatch cannot heal, so one poll only.
    expect(r.report!.checks.find((c) => c.name === 'api')!.status).toBe('pass');
    expect(r.report!.polls).toBe(1);
    expect(r.report!.stoppedEarly).toMatch(/prod-eu-master-1: host-key-mismatch cannot heal/);
    expect(r.stdout).toMatch(/::error::cluster prod-eu is NOT healthy.*failed checks: ssh-trust, ssh-check/);
  });

  test('a worker whose sshd is down is reported by ssh-check before anything needs it', async () => {
    await lone.stop();
    try {
      const r = await action({ timeout: '3' });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.outputs['failed-checks']!)).toEqual(['ssh-check']);
      const worker = r.report!.ssh.nodes.find((n) => n.node === 'prod-eu-worker-2')!;
      expect(worker).toMatchObject({ ok: false, status: 'unreachable' });
      expect(r.report!.checks.find((c) => c.name === 'ssh-check')!.failing).toEqual(['prod-eu-worker-2']);
      // The node list from the API still says Ready: only the SSH check knows.
      expect(r.report!.checks.find((c) => c.name === 'nodes')!.status).toBe('pass');
      expect(r.summary).toMatch(/\| prod-eu-worker-2 \| worker \| .* \| ❌ unreachable \|/);
      const cli = await runCli([
        'health',
        '-i',
        inventoryFile(inventory()),
        '--ssh-key',
        keyFile,
        '--timeout',
        '2',
      ]);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toMatch(/FAIL {2}ssh-check .*\[prod-eu-worker-2\]/);
      expect(cli.stdout).toMatch(/unreachable {2}prod-eu-worker-2/);
      // ssh-check: masters leaves the worker out.
      const masters = await action({ timeout: '3', 'ssh-check': 'masters' });
      expect(masters.code).toBe(0);
    } finally {
      lone = await startLone();
    }
  });

  /**
   * worker-2's own server: main's port on another address (the inventory has one ssh.port), and
   * the same host key across restarts.
   */
  let loneHostKey: string | undefined;
  async function startLone(): Promise<TestSshd> {
    const server = await startSshd({
      addresses: [W2],
      clientKey: main.client,
      port: main.port,
      ...(loneHostKey ? { hostKeyFile: loneHostKey } : {}),
    });
    if (!loneHostKey) {
      loneHostKey = join(dir, 'lone_host_key');
      writeFileSync(loneHostKey, readFileSync(join(server.dir, 'host_key')), { mode: 0o600 });
    }
    return server;
  }

  test('an encrypted key without its passphrase ends the run at once, before any connection', async () => {
    const encrypted = makeKey({ passphrase: 'correct horse' });
    const r = await action({ 'ssh-key': encrypted.privateKey });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '::error::ssh-key: the key is passphrase-protected and no ssh-key-passphrase was given',
    );
    expect(r.outputs).toEqual({});
    const cliKey = join(dir, 'encrypted');
    writeFileSync(cliKey, encrypted.privateKey, { mode: 0o600 });
    const cli = await runCli(['health', '-i', inventoryFile(inventory()), '--ssh-key', cliKey]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--ssh-key: the key is passphrase-protected');
  });

  test('an encrypted key with its passphrase works (and the passphrase is masked)', async () => {
    const encrypted = makeKey({ passphrase: 'correct horse battery' });
    const authorized = join(main.dir, 'authorized_keys');
    const before = readFileSync(authorized, 'utf8');
    writeFileSync(authorized, `${before}${encrypted.publicLine}\n`);
    const loneAuthorized = join(lone.dir, 'authorized_keys');
    writeFileSync(loneAuthorized, `${readFileSync(loneAuthorized, 'utf8')}${encrypted.publicLine}\n`);
    const r = await action({
      'ssh-key': encrypted.privateKey,
      'ssh-key-passphrase': 'correct horse battery',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('::add-mask::correct horse battery');
  });

  test('authentication refused on every master ends the run at once with one clear error', async () => {
    const stranger = makeKey();
    const r = await action({ 'ssh-key': stranger.privateKey, timeout: '120' });
    expect(r.code).toBe(1);
    expect(r.report!.polls).toBe(1);
    expect(r.report!.fatal).toBe(
      `every master refused the SSH key (as ${main.user}): check ssh-key (and ssh-key-passphrase) and the nodes' authorized_keys`,
    );
    // One error line, not a list of checks that were never evaluated.
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
      `::error::cluster prod-eu: ${r.report!.fatal}`,
    ]);
    expect(r.report!.durationSeconds).toBeLessThan(60); // far from the 120 s budget
    expect(r.report!.ssh.nodes.every((n) => n.status === 'auth-refused')).toBe(true);
  });

  test('ssh-user beside an inventory is an error, not silently ignored', async () => {
    const r = await action({ 'ssh-user': 'admin' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::ssh-user: is only for `host`: the inventory sets ssh.user');
    const cli = await runCli([
      'health',
      '-i',
      inventoryFile(inventory()),
      '--ssh-key',
      keyFile,
      '--user',
      'admin',
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--user: is only for `host`');
  });

  test('CLI output: a compact table for people, --json for scripts, --report-file keeps the report', async () => {
    const file = join(dir, 'report.json');
    const human = await runCli([
      'health',
      '-i',
      inventoryFile(inventory()),
      '--ssh-key',
      keyFile,
      '--report-file',
      file,
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^prod-eu: HEALTHY \(1 poll\(s\), healthy after [\d.]+ s\)\n/);
    expect(human.stdout).toMatch(/^ {2}pass {2}ssh-trust {2}/m);
    expect(human.stdout).not.toContain('\u001b['); // not a TTY: no colour
    expect(human.stdout.split('\n').length).toBeLessThan(20);
    expect(() => JSON.parse(human.stdout)).toThrow();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ kind: 'health-check', healthy: true });
    const json = await runCli(['health', '-i', inventoryFile(inventory()), '--ssh-key', keyFile, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'health-check', healthy: true, polls: 1 });
    expect(existsSync(file)).toBe(true);
  });
});
