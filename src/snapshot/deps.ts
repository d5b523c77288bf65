import { tmpdir } from 'node:os';
import { connect } from '../ssh/connection.js';
import type { Connector } from '../ssh/pool.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { localToolCache } from '../lib/local-tool-cache.js';
import { SnapshotBucket, type SnapshotStore } from '../s3/client.js';
import type { S3Settings } from '../s3/settings.js';
import type { ToolCache } from '../etcd/install.js';

/**
 * The snapshot capability's side effects, injectable: the SSH connector, the clock, the S3
 * client, the tool cache etcd's tools are installed into (the action passes @actions/tool-cache,
 * the CLI a cache under ~/.cache), and the scratch directory for downloads and trial restores.
 */
export interface SnapshotIo {
  connect: Connector;
  clock: Clock;
  openBucket(settings: S3Settings, secrets: SecretRegistry): SnapshotStore;
  toolCache: ToolCache;
  tempDir(): string;
}

export const defaultSnapshotIo: SnapshotIo = {
  connect,
  clock: systemClock,
  openBucket: (settings, secrets) => new SnapshotBucket(settings, secrets),
  toolCache: localToolCache(),
  tempDir: () => process.env.RUNNER_TEMP || tmpdir(),
};
