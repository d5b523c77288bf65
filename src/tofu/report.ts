import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { TofuCommand } from './config.js';
import type { PlanCounts, ResourceLine } from './summary.js';
import type { Rke2Upgrade, StackWarning } from './stack.js';

/** One JSON report per run (the incident action reads it; the summary renders it). */
export interface Phase {
  name: string;
  /** Epoch milliseconds. */
  startedAt: number;
  durationSeconds: number;
  status: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export interface TofuBinaryInfo {
  binary: string;
  version: string;
  source: 'path' | 'cache' | 'download';
}

export type CommentOutcome =
  | { status: 'created' | 'updated'; id: number; url: string }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; error: string };

export interface PlanSection {
  exitCode: number;
  changes: boolean;
  destructive: boolean;
  counts: PlanCounts;
  resources: ResourceLine[];
  outputChanges: string[];
  rke2Upgrade: Rke2Upgrade | null;
  warnings: StackWarning[];
  resourceChangesHash: string;
  files: { plan: string; json: string; text: string };
}

export interface TofuReport {
  kind: 'tofu';
  command: TofuCommand;
  ok: boolean;
  /** One line for people: what happened, or what failed and what to do. */
  verdict: string;
  workingDirectory: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  tofu: TofuBinaryInfo | null;
  phases: Phase[];
  /** plan: what will happen; apply: what was applied. */
  plan?: PlanSection;
  apply?: { applied: boolean; expectedHash: string; actualHash?: string };
  outputs?: { names: string[]; sensitive: string[] };
  comment?: CommentOutcome;
  /** What failed, where (phase) and what to do next. */
  error?: { phase: string; message: string };
}

/** Failure of one phase: the report names it; the front ends fail the step with the message. */
export class PhaseError extends Error {
  override name = 'PhaseError';
  constructor(
    readonly phase: string,
    message: string,
  ) {
    super(message);
  }
}

/** Times phases on the injected clock and records them in order. */
export class PhaseTimer {
  readonly phases: Phase[] = [];
  constructor(private readonly clock: Clock) {}

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const startedAt = this.clock.now();
    try {
      const value = await fn();
      this.phases.push({
        name,
        startedAt,
        durationSeconds: (this.clock.now() - startedAt) / 1000,
        status: 'ok',
      });
      return value;
    } catch (error) {
      this.phases.push({
        name,
        startedAt,
        durationSeconds: (this.clock.now() - startedAt) / 1000,
        status: 'failed',
        detail: errorMessage(error).split('\n')[0],
      });
      throw error instanceof PhaseError ? error : new PhaseError(name, errorMessage(error));
    }
  }

  skip(name: string, detail: string): void {
    this.phases.push({ name, startedAt: this.clock.now(), durationSeconds: 0, status: 'skipped', detail });
  }
}

export async function writeReportFile(report: TofuReport, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `rke2-ops-tofu-${report.command}-report.json`);
  await writeFile(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}
