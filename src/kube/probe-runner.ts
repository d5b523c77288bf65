import type { Connector, SshPool } from '../ssh/pool.js';
import { SshError, type SshFailureKind } from '../ssh/errors.js';
import type { RemoteShell, SshTarget } from '../ssh/types.js';
import { errorMessage } from '../lib/errors.js';
import { buildProbeScript, parseProbeOutput, type ProbeOptions } from './probe.js';
import type { ClusterState } from './types.js';
import { inertText } from '../lib/inert.js';

export type { Connector };

export interface ProbeAttempt {
  host: string;
  error: string;
  /** Set when the master could not be connected to: why (a wrong host key, a refused key, ...). */
  kind?: SshFailureKind;
}

export interface ProbeResult {
  state: ClusterState | null;
  /** Masters tried before (or instead of) the one that answered, with why they did not. */
  attempts: ProbeAttempt[];
  /** Remote commands run for this poll (the design target is one). */
  execs: number;
  /** For the master that answered: time to get its connection (0 when reused) and to run the probe. */
  timings?: { connectMs: number; execMs: number };
}

/**
 * Runs the probe on a master, falling back to the others: a health check must still give a
 * verdict when master-0 is down. Connections stay open across polls; the master that answered
 * last is asked first next time, so an unreachable master-0 costs its timeout once, not every
 * poll. A master whose own API cannot list nodes is also passed over: its view is not the
 * cluster's, and the API check of the master that does answer tells the story.
 *
 * Connections come from the run's pool (shared with the SSH access check, so a master is
 * connected to once); its connector is injected, so tests prove bad input never connects and
 * the benchmark counts execs per poll. A master the pool knows to be permanently refused (wrong
 * host key, refused key) is reported again without a new connection.
 */
export class MasterProber {
  private preferred: string | undefined;
  private readonly script: string;

  constructor(
    private readonly masters: readonly SshTarget[],
    private readonly opts: ProbeOptions,
    private readonly pool: SshPool,
    private readonly execTimeoutMs: number,
  ) {
    // Built (and its inputs validated) once, before any connection.
    this.script = buildProbeScript(opts);
  }

  private order(): SshTarget[] {
    const first = this.masters.find((m) => m.name === this.preferred);
    return first ? [first, ...this.masters.filter((m) => m !== first)] : [...this.masters];
  }

  /**
   * `outOfTime` is asked before each master after the first: once the time budget is spent, one
   * master's view (or its failure) is the verdict rather than another request timeout per master.
   */
  async probe(outOfTime: () => boolean = () => false): Promise<ProbeResult> {
    const attempts: ProbeAttempt[] = [];
    let execs = 0;
    let fallback: ClusterState | null = null;
    for (const [i, target] of this.order().entries()) {
      if (i > 0 && outOfTime()) {
        attempts.push({ host: target.name, error: 'not tried: the time budget is spent' });
        continue;
      }
      let shell: RemoteShell;
      const connectStart = performance.now();
      try {
        shell = await this.pool.get(target);
      } catch (error) {
        const kind = error instanceof SshError ? error.kind : undefined;
        const prefix = kind === 'unreachable' || kind === undefined ? 'unreachable: ' : '';
        attempts.push({
          host: target.name,
          error: `${prefix}${errorMessage(error)}`,
          ...(kind ? { kind } : {}),
        });
        continue;
      }
      try {
        execs += 1;
        const execStart = performance.now();
        const res = await shell.exec(this.script, {
          timeoutMs: this.execTimeoutMs,
          maxOutputBytes: 32 * 1024 * 1024,
        });
        if (res.code !== 0 || res.timedOut) {
          const why = res.timedOut
            ? `probe timed out after ${this.execTimeoutMs} ms`
            : `probe exited ${res.code}: ${inertText(res.stderr.trim(), 300)}`;
          attempts.push({ host: target.name, error: why });
          if (res.timedOut) await this.pool.drop(target);
          continue;
        }
        const state = parseProbeOutput(res.stdout, this.opts, target.name);
        if (state.nodes) {
          this.preferred = target.name;
          const timings = {
            connectMs: Math.round(execStart - connectStart),
            execMs: Math.round(performance.now() - execStart),
          };
          return { state, attempts, execs, timings };
        }
        attempts.push({
          host: target.name,
          error: `its API cannot list nodes: ${state.nodesError ?? 'unknown'}`,
        });
        fallback ??= state;
      } catch (error) {
        // A dropped connection (node rebooting) is reopened on the next poll.
        await this.pool.drop(target);
        attempts.push({ host: target.name, error: errorMessage(error) });
      }
    }
    return { state: fallback, attempts, execs };
  }
}
