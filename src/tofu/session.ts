import { mkdir } from 'node:fs/promises';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import type { CommonConfig, TofuCommand } from './config.js';
import { errorTail, type TofuExec, type TofuRun } from './exec.js';
import { PhaseError, PhaseTimer, type TofuBinaryInfo, type TofuReport } from './report.js';

/** The side effects of every tofu command: the action, the CLI and the tests pass their own. */
export interface TofuDeps {
  /** Finds or installs tofu (the action: tool cache + checksum; the CLI: PATH). */
  resolveTofu: () => Promise<TofuBinaryInfo>;
  createExec: (binary: string, env: Record<string, string>) => TofuExec;
  logger: Logger;
  secrets: SecretRegistry;
  clock: Clock;
}

/** Shared by plan, apply and output: timing, the tofu binary, init, and the final report. */
export class TofuSession {
  readonly timer: PhaseTimer;
  readonly started: number;
  tofu: TofuBinaryInfo | null = null;
  private exec?: TofuExec;

  constructor(
    readonly command: TofuCommand,
    readonly config: CommonConfig,
    readonly deps: TofuDeps,
  ) {
    this.timer = new PhaseTimer(deps.clock);
    this.started = deps.clock.now();
  }

  async prepare(): Promise<void> {
    await mkdir(this.config.scratchDir, { recursive: true });
    this.tofu = await this.timer.run('install', () => this.deps.resolveTofu());
    const env = Object.fromEntries(Object.entries(this.config.vars).map(([k, v]) => [`TF_VAR_${k}`, v]));
    this.exec = this.deps.createExec(this.tofu.binary, env);
    if (!this.config.init) {
      this.timer.skip('init', 'init: false');
      return;
    }
    await this.timer.run('init', async () => {
      const run = await this.run(
        [
          'init',
          '-input=false',
          '-no-color',
          ...this.config.backendConfig.map((b) => `-backend-config=${b}`),
        ],
        { echo: true },
      );
      this.check(run, 'init', 'check the backend configuration and that the providers can be installed');
    });
  }

  /** Runs tofu in the working directory. */
  run(args: readonly string[], opts: { echo?: boolean; stdoutFile?: string } = {}): Promise<TofuRun> {
    if (!this.exec) throw new Error('tofu is not resolved yet');
    return this.exec(args, { cwd: this.config.workingDirectory, ...opts });
  }

  /** Throws a PhaseError with tofu's own error text (redacted) unless the exit code is allowed. */
  check(run: TofuRun, phase: string, next: string, allowed: readonly number[] = [0]): void {
    if (allowed.includes(run.code)) return;
    throw new PhaseError(
      phase,
      `tofu ${run.args[0]} failed (exit ${run.code}) in ${this.config.displayDirectory}:\n` +
        `${this.deps.secrets.redact(errorTail(run))}\nNext: ${next}.`,
    );
  }

  lockArgs(): string[] {
    return this.config.lockTimeout ? [`-lock-timeout=${this.config.lockTimeout}`] : [];
  }

  report(fields: Partial<TofuReport> & Pick<TofuReport, 'verdict' | 'ok'>): TofuReport {
    const now = this.deps.clock.now();
    return this.deps.secrets.redactDeep({
      kind: 'tofu',
      command: this.command,
      workingDirectory: this.config.displayDirectory,
      startedAt: new Date(this.started).toISOString(),
      finishedAt: new Date(now).toISOString(),
      durationSeconds: Math.round(now - this.started) / 1000,
      tofu: this.tofu,
      phases: this.timer.phases,
      ...fields,
    } as TofuReport);
  }

  /** The report of a failed run: names the phase, keeps what was learnt before it. */
  failed(error: unknown, fields: Partial<TofuReport> = {}): TofuReport {
    const phase = error instanceof PhaseError ? error.phase : 'internal';
    const message = this.deps.secrets.redact(errorMessage(error));
    return this.report({
      ...fields,
      ok: false,
      verdict: `tofu ${this.command} failed in phase ${phase} (${this.config.displayDirectory})`,
      error: { phase, message },
    });
  }
}
