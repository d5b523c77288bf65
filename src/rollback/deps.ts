import { tmpdir } from 'node:os';
import { connect } from '../ssh/connection.js';
import type { Connector } from '../ssh/pool.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { SecretRegistry } from '../lib/secrets.js';
import { SnapshotBucket, type SnapshotStore } from '../s3/client.js';
import type { S3Settings } from '../s3/settings.js';
import type { SshCredentials } from '../ssh/types.js';
import type { FetchLike } from '../health/http.js';

/** The rollback's side effects, injectable: SSH connector, clock, S3 client, scratch dir, fetch (health URLs). */
export interface RollbackIo {
  connect: Connector;
  clock: Clock;
  openBucket(settings: S3Settings, secrets: SecretRegistry): SnapshotStore;
  tempDir(): string;
  fetch: FetchLike;
}

export const defaultRollbackIo: RollbackIo = {
  connect,
  clock: systemClock,
  openBucket: (settings, secrets) => new SnapshotBucket(settings, secrets),
  tempDir: () => process.env.RUNNER_TEMP || tmpdir(),
  fetch: (u, i) => fetch(u, i),
};

/** Live progress for the CLI (and the action's log): called as phases and nodes start and end. */
export type ProgressEvent =
  | { type: 'phase-start'; id: string; name: string }
  | { type: 'phase-end'; id: string; name: string; status: string; seconds: number }
  | { type: 'node'; phase: string; node: string; status: string; message: string; seconds: number };

export interface RollbackDeps extends RollbackIo {
  credentials: SshCredentials;
  logger: Logger;
  secrets: SecretRegistry;
  progress?: (e: ProgressEvent) => void;
}
