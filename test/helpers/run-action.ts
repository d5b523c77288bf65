/**
 * Runs a bundled action exactly as the runner does: `node actions/<name>/dist/index.js` with
 * inputs as `INPUT_<NAME>` variables (upper-cased, spaces to `_`, hyphens kept) and the
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files created beforehand. Returns what the runner
 * would see: exit code, log lines, outputs and the job summary.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
}

const root = new URL('../..', import.meta.url).pathname;

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
  // Only what a runner provides: no INPUT_* leaking from the test process's environment.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_')),
  );
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'actions', name, 'dist', 'index.js')], {
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
