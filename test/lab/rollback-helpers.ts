/**
 * Shared pieces of the rollback lab tests: a snapshot through the CLI (the snapshot action's
 * core), the rollback bundle run as the runner runs it - optionally SIGKILLed when a log line
 * appears (fault injection) - a "was any node touched" fingerprint, and the key-for-key
 * comparison of every master with the snapshot file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { actionNode, inputEnv, parseOutputFile, runnerFiles } from '../helpers/run-action.js';
import { comparable, diffKeyspace, etcdDump, nodeAddress, snapshotKeyspace } from './helpers.js';
import { findTools } from './tools.js';
import type { RollbackReport } from '../../src/rollback/types.js';

export const REPO = new URL('../..', import.meta.url).pathname;
export const CLI = join(REPO, 'bin/rke2-ops.js');
export const SNAPDIR = '/var/lib/rancher/rke2/server/db/snapshots';

export interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function s3Env(lab: Lab): Record<string, string> {
  return { RKE2OPS_S3_ACCESS_KEY: lab.s3.accessKeyId, RKE2OPS_S3_SECRET_KEY: lab.s3.secretAccessKey };
}

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k, v]) =>
        v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && k !== 'NODE_OPTIONS',
    ),
  ) as Record<string, string>;
}

export function runProc(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  opts: { killOn?: RegExp; timeoutMs?: number } = {},
): Promise<Proc> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (opts.killOn && opts.killOn.test(stdout)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A verified pre-upgrade (or on-demand) snapshot through the CLI; returns its file name. */
export async function takeSnapshot(
  lab: Lab,
  kind: 'pre-upgrade' | 'on-demand' = 'pre-upgrade',
): Promise<string> {
  const r = await runProc(
    process.execPath,
    [
      CLI,
      'snapshot',
      'save',
      '-i',
      lab.inventoryPath,
      '-k',
      lab.privateKeyPath,
      '--level',
      's3',
      '--kind',
      kind,
      '--json',
    ],
    { ...cleanEnv(), ...s3Env(lab) },
  );
  if (r.code !== 0)
    throw new Error(`snapshot failed (${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  const report = JSON.parse(r.stdout) as { snapshot: { file: string } };
  return report.snapshot.file;
}

export interface RollbackRun extends Proc {
  outputs: Record<string, string>;
  summary: string;
  report: RollbackReport | null;
}

/** The rollback bundle on the Node its action.yml declares, with the runner's INPUT_* / GITHUB_* contract. */
export async function runRollbackBundle(
  lab: Lab,
  inputs: Record<string, string>,
  opts: { killOn?: RegExp; s3?: boolean; timeoutMs?: number } = {},
): Promise<RollbackRun> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-runner-'));
  const files = runnerFiles(dir);
  const node = actionNode('rollback');
  const env = {
    ...cleanEnv(),
    ...inputEnv({
      'inventory-file': lab.inventoryPath,
      'ssh-key': lab.privateKey,
      confirm: lab.inventory.cluster,
      ...(opts.s3 === false
        ? {}
        : { 's3-access-key': lab.s3.accessKeyId, 's3-secret-key': lab.s3.secretAccessKey }),
      ...inputs,
    }),
    ...files,
  };
  const p = await runProc(node.path, [join(REPO, 'actions/rollback/dist/index.js')], env, opts);
  const outputs = parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8'));
  const summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return {
    ...p,
    outputs,
    summary,
    report: outputs.report ? (JSON.parse(outputs.report) as RollbackReport) : null,
  };
}

/** Host path of a node path under /var/lib/rancher. */
export function hostPath(lab: Lab, node: string, path: string): string {
  return join(
    lab.state.nodes.find((n) => n.name === node)!.dir,
    'var-lib-rancher',
    path.replace(/^\/var\/lib\/rancher\//, ''),
  );
}

/** What would change if a node were touched: unit state and main PID, version, lock/state files. */
export async function fingerprint(lab: Lab): Promise<string[]> {
  return Promise.all(
    lab.state.nodes.map(async (n) => {
      const s = await lab.shell(n.name).catch(() => null);
      if (!s) return `${n.name}: unreachable`;
      const unit = n.role === 'master' ? 'rke2-server' : 'rke2-agent';
      const r = await s.run([
        'bash',
        '-c',
        `systemctl show -p ActiveState,MainPID,ActiveEnterTimestampMonotonic ${unit} | sort | tr '\\n' ' '; rke2 --version | head -1; ls /var/lib/rancher/rke2/server/rke2-ops 2>/dev/null || true; ls /var/lib/rancher/rke2/server | grep -c db.bak || true`,
      ]);
      return `${n.name}: ${r.stdout.trim()}`;
    }),
  );
}

/** The snapshot's key space (restored into a throwaway etcd on the host). */
export async function expectedKeyspace(lab: Lab, file: string): Promise<Map<string, string>> {
  const work = mkdtempSync(join(tmpdir(), 'rb-snap-'));
  try {
    return comparable(
      await snapshotKeyspace(
        findTools(),
        hostPath(lab, lab.state.nodes[0]!.name, `${SNAPDIR}/${file}`),
        work,
      ),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Every master's key space against the snapshot's, key for key. Allowed: Velero Backup objects
 * that its backup sync re-creates from the bucket after the restore (taken after the snapshot).
 */
export async function keyspaceDiffs(
  lab: Lab,
  expected: Map<string, string>,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const m of lab.state.nodes.filter((n) => n.role === 'master')) {
    const got = comparable(await etcdDump(await lab.shell(m.name), nodeAddress(lab, m.name)));
    out[m.name] = diffKeyspace(expected, got).filter((d) => !/^\+ \/registry\/velero\.io\/backups\//.test(d));
  }
  return out;
}
