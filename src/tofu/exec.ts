import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { inert } from '../lib/inert.js';

/**
 * Runs `tofu` as a child process with an argument vector (never through a shell, so no input
 * can become a command), non-interactive (TF_IN_AUTOMATION, TF_INPUT=0). Output is captured
 * and, when asked, echoed line by line through the secret registry's redaction.
 */
export interface TofuRun {
  args: readonly string[];
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface TofuExecOptions {
  cwd: string;
  /** Write stdout to this file instead of keeping it (`show -json` of a big plan). */
  stdoutFile?: string;
  /** Echo the output to the log as it comes (init, plan, apply). */
  echo?: boolean;
}

export type TofuExec = (args: readonly string[], options: TofuExecOptions) => Promise<TofuRun>;

export interface TofuExecDeps {
  logger: Logger;
  secrets: SecretRegistry;
  /** Extra environment (TF_VAR_*, TF_CLI_CONFIG_FILE, ...) over the process's own. */
  env?: Record<string, string | undefined>;
}

export function createTofuExec(binary: string, deps: TofuExecDeps): TofuExec {
  return (args, options) =>
    new Promise<TofuRun>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(binary, [...args], {
        cwd: options.cwd,
        env: { ...process.env, ...deps.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const echo = options.echo ? lineEcho((line) => deps.logger.info(deps.secrets.redact(line))) : undefined;
      const file = options.stdoutFile ? createWriteStream(options.stdoutFile) : undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        if (file) file.write(chunk);
        else out.push(chunk);
        echo?.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err.push(chunk);
        echo?.push(chunk);
      });
      child.on('error', (error) => reject(new Error(`cannot run ${inert(binary)}: ${error.message}`)));
      child.on('close', (code, signal) => {
        echo?.flush();
        const finish = () =>
          resolve({
            args,
            code: code ?? (signal ? 128 : 1),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
            durationMs: Date.now() - started,
          });
        if (file) file.end(finish);
        else finish();
      });
    });
}

/** Splits chunks into whole lines (a secret cut across two chunks is still redacted). */
function lineEcho(emit: (line: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) emit(line.replace(/\r$/, ''));
    },
    flush() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

/** The last lines of tofu's error output, for a failure message (redacted by the caller). */
export function errorTail(run: TofuRun, lines = 25): string {
  const text = (run.stderr.trim() || run.stdout.trim()).split('\n');
  return text.slice(-lines).join('\n');
}
