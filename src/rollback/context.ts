import { errorMessage } from '../lib/errors.js';
import { inertText } from '../lib/inert.js';
import { SshPool } from '../ssh/pool.js';
import type { RemoteShell } from '../ssh/types.js';
import type { ClusterTarget } from '../inventory/targets.js';
import type { SnapshotStore } from '../s3/client.js';
import { runBatch, type BatchResult, type Step } from '../rke2/batch.js';
import type { RollbackConfig } from './config.js';
import type { RollbackDeps } from './deps.js';
import type { NodeResult, RollbackFailure } from './types.js';
import { unitDiagnostics } from './commands.js';

/** A failure that ends the run, with the phase, the node and the next step known where it is thrown. */
export class RollbackError extends Error {
  override name = 'RollbackError';
  constructor(
    readonly failure: RollbackFailure,
    readonly nodes: NodeResult[] = [],
  ) {
    super(failure.message);
  }
}

export function fail(
  phase: string,
  node: string,
  message: string,
  next: string,
  nodes: NodeResult[] = [],
): never {
  throw new RollbackError({ phase, node, message, next }, nodes);
}

/** The resources of one run: the config, the side effects, one SSH connection per node, the bucket. */
export class RollbackContext {
  readonly pool: SshPool;
  readonly bucket: SnapshotStore | null;

  constructor(
    readonly config: RollbackConfig,
    readonly deps: RollbackDeps,
  ) {
    this.pool = new SshPool(
      {
        credentials: deps.credentials,
        logger: deps.logger,
        secrets: deps.secrets,
        options: {
          attempts: 3,
          readyTimeoutMs: config.connectTimeoutSeconds * 1000,
          minBackoffMs: 500,
          maxBackoffMs: 4000,
        },
      },
      deps.connect,
    );
    this.bucket = config.s3 ? deps.openBucket(config.s3, deps.secrets) : null;
  }

  get master0(): ClusterTarget {
    return this.config.masters[0]!;
  }

  now(): number {
    return this.deps.clock.now();
  }

  async shell(target: ClusterTarget, phase: string): Promise<RemoteShell> {
    try {
      return await this.pool.get(target);
    } catch (error) {
      return fail(
        phase,
        target.name,
        `cannot connect to ${target.name} (${target.address}:${target.port}): ${errorMessage(error)}`,
        'check that the node is up, its host key (host_keys / known-hosts) and the SSH key; then re-run (it resumes)',
      );
    }
  }

  /** Runs steps on a node in one exec; a transport failure ends the phase naming the node. */
  async batch(
    target: ClusterTarget,
    phase: string,
    steps: Step[],
    timeoutMs: number,
    opts: { concurrent?: boolean } = {},
  ): Promise<BatchResult> {
    const shell = await this.shell(target, phase);
    try {
      return await runBatch(shell, steps, {
        timeoutMs: Math.max(1000, timeoutMs),
        secrets: this.deps.secrets,
        ...(opts.concurrent ? { concurrent: true } : {}),
      });
    } catch (error) {
      return fail(
        phase,
        target.name,
        errorMessage(error),
        'check the node and re-run (the rollback resumes)',
      );
    }
  }

  /** The unit state and journal tail of a stuck node (best effort, never throws). */
  async diagnose(target: ClusterTarget): Promise<{ unit: string; logTail: string }> {
    try {
      const shell = await this.pool.get(target);
      const r = await runBatch(shell, [{ key: 'd', command: unitDiagnostics(target.role) }], {
        timeoutMs: 15_000,
        secrets: this.deps.secrets,
      });
      const [status = '', log = ''] = r.d!.stdout.split('\n---\n');
      return { unit: inertText(status.trim(), 400), logTail: inertText(log.trim(), 2000) };
    } catch (error) {
      return { unit: 'unknown (no answer)', logTail: errorMessage(error) };
    }
  }

  async sleep(ms: number): Promise<void> {
    await this.deps.clock.sleep(ms);
  }

  async close(): Promise<void> {
    this.bucket?.close();
    await this.pool.closeAll();
  }
}

export const seconds = (ms: number) => Math.round(ms) / 1000;
