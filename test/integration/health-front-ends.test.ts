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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBundledAction } from '../helpers/run-action.js';

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

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

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
