import type { ConnectDeps } from '../ssh/connection.js';
import { SshPool, type Connector } from '../ssh/pool.js';
import type { RemoteShell, SshTarget } from '../ssh/types.js';
import { errorMessage } from '../lib/errors.js';
import { buildProbeScript, parseProbeOutput, type ProbeOptions } from './probe.js';
import type { ClusterState } from './types.js';
import { inertText } from '../lib/inert.js';

export type { Connector };

export interface ProbeAttempt {
  host: string;
  error: string;
}

export interface ProbeResult {
  state: ClusterState | null;
  /** Masters tried before (or instead of) the one that answered, with why they did not. */
  attempts: ProbeAttempt[];
  /** Remote commands run for this poll (the design target is one). */
  execs: number;
}

/**
 * Runs the probe on a master, falling back to the others: a health check must still give a
 * verdict when master-0 is down. Connections stay open across polls; the master that answered
 * last is asked first next time, so an unreachable master-0 costs its timeout once, not every
 * poll. A master whose own API cannot list nodes is also passed over: its view is not the
 * cluster's, and the API check of the master that does answer tells the story.
 *
 * The connector is injected (through the pool), so tests prove bad input never connects and
 * the benchmark counts execs per poll.
 */
export class MasterProber {
  private readonly pool: SshPool;
  private preferred: string | undefined;
  private readonly script: string;

  constructor(
    private readonly masters: readonly SshTarget[],
    private readonly opts: ProbeOptions,
    connect: Connector,
    connectDeps: ConnectDeps,
    private readonly execTimeoutMs: number,
  ) {
    this.pool = new SshPool(connectDeps, connect);
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
      try {
        shell = await this.pool.get(target);
      } catch (error) {
        attempts.push({ host: target.name, error: `unreachable: ${errorMessage(error)}` });
        continue;
      }
      try {
        execs += 1;
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
          return { state, attempts, execs };
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

  close(): Promise<void> {
    return this.pool.closeAll();
  }
}
