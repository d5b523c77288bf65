import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PhaseRecord, SnapshotCheck, SnapshotFailure } from './types.js';

/** A failure that ends the run: the phase, the node and the next step are known where it is thrown. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  constructor(readonly failure: SnapshotFailure) {
    super(failure.message);
  }
}

export function fail(phase: string, node: string, message: string, next: string): never {
  throw new StepFailure({ phase, node, message, next });
}

/**
 * Book-keeping of one run: timed phases (for the report, the summary table and the Gantt chart),
 * checks, warnings and the overall deadline every remote command and S3 request is bounded by.
 */
export class RunState {
  readonly phases: PhaseRecord[] = [];
  readonly checks: SnapshotCheck[] = [];
  readonly warnings: string[] = [];
  readonly started: number;
  readonly deadline: number;
  private readonly abort = new AbortController();

  constructor(
    readonly clock: Clock,
    readonly logger: Logger,
    timeoutSeconds: number,
  ) {
    this.started = clock.now();
    this.deadline = this.started + timeoutSeconds * 1000;
    const timer = setTimeout(
      () => this.abort.abort(new Error(`timed out after ${timeoutSeconds} s`)),
      timeoutSeconds * 1000,
    );
    timer.unref();
  }

  /** Aborted when the run's time is up (S3 transfers, the trial restore). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.clock.now());
  }

  /** A remote command's limit: what is left of the budget, at least 1 s. */
  execTimeout(capMs = Number.MAX_SAFE_INTEGER): number {
    return Math.max(1000, Math.min(capMs, this.remainingMs()));
  }

  outOfTime(phase: string, node: string): void {
    if (this.remainingMs() <= 0)
      fail(
        phase,
        node,
        `the time budget ran out before ${phase}`,
        'raise `timeout`, or find what is slow (see the phase timings)',
      );
  }

  /** A timed phase; `group: false` for one that runs alongside others (log groups cannot overlap). */
  async phase<T>(name: string, fn: () => Promise<T>, opts: { group?: boolean } = {}): Promise<T> {
    const startedAt = this.clock.now();
    const record: PhaseRecord = { name, startedAt, durationSeconds: 0, status: 'ok' };
    this.phases.push(record);
    try {
      return await (opts.group === false ? fn() : this.logger.group(name, fn));
    } catch (error) {
      record.status = 'failed';
      throw error;
    } finally {
      record.durationSeconds = Math.round(this.clock.now() - startedAt) / 1000;
    }
  }

  skip(name: string): void {
    this.phases.push({ name, startedAt: this.clock.now(), durationSeconds: 0, status: 'skipped' });
  }

  check(c: SnapshotCheck): SnapshotCheck {
    this.checks.push(c);
    const line = `${c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.message}`;
    if (c.status === 'fail') this.logger.error(line);
    else this.logger.info(line);
    return c;
  }

  warn(message: string): void {
    this.warnings.push(message);
    this.logger.warning(message);
  }
}
