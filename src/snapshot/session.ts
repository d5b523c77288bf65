import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { errorMessage } from '../lib/errors.js';
import { SshPool } from '../ssh/pool.js';
import type { RemoteShell, SshCredentials, SshTarget } from '../ssh/types.js';
import type { SnapshotStore } from '../s3/client.js';
import { installEtcdTools, type EtcdTools } from '../etcd/install.js';
import type { SnapshotConfig } from './config.js';
import type { SnapshotIo } from './deps.js';
import { fail, RunState } from './run-state.js';

/** Everything a run of the core receives besides its config. */
export interface SnapshotDeps extends SnapshotIo {
  credentials: SshCredentials;
  logger: Logger;
  secrets: SecretRegistry;
}

/** This toolkit's version, recorded in the metadata. */
export const TOOL_VERSION = '0.1.0';

/**
 * The resources of one run: the SSH pool (one connection per node, reused), the S3 bucket, the
 * etcd tools (installed once, concurrently with the rest when the restore level needs them).
 */
export class Session {
  readonly run: RunState;
  readonly pool: SshPool;
  readonly bucket: SnapshotStore | null;
  private tools: Promise<EtcdTools> | null = null;

  constructor(
    readonly config: SnapshotConfig,
    readonly deps: SnapshotDeps,
  ) {
    this.run = new RunState(deps.clock, deps.logger, config.timeoutSeconds);
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
    this.bucket = config.s3
      ? deps.openBucket(
          { ...config.s3, requestTimeoutMs: Math.min(60_000, config.timeoutSeconds * 1000) },
          deps.secrets,
        )
      : null;
  }

  async shell(target: SshTarget, phase: string): Promise<RemoteShell> {
    try {
      return await this.pool.get(target);
    } catch (error) {
      return fail(
        phase,
        target.name,
        `cannot connect to ${target.name} (${target.address}:${target.port}): ${errorMessage(error)}`,
        'check that the node is up, its host key (host_keys / known-hosts) and the SSH key',
      );
    }
  }

  /** Starts installing etcd's tools (idempotent); awaited by the restore level. */
  etcdTools(): Promise<EtcdTools> {
    this.tools ??= installEtcdTools(this.config.etcd, {
      toolCache: this.deps.toolCache,
      logger: this.deps.logger,
    });
    // A failure is reported where the tools are needed, not as an unhandled rejection.
    this.tools.catch(() => undefined);
    return this.tools;
  }

  async close(): Promise<void> {
    this.bucket?.close();
    await this.pool.closeAll();
  }
}
