import * as tc from '@actions/tool-cache';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { SecretRegistry } from '../../lib/secrets.js';
import type { BackupS3 } from '../../backup/config.js';
import { s3ObjectStore, type ObjectStore } from '../../backup/objects.js';
import type { ToolCache } from '../../etcd/install.js';

/** The backup-freshness action's side effects, injectable for tests. */
export interface BackupFreshnessActionDeps {
  clock: Clock;
  objectStore(settings: BackupS3, secrets: SecretRegistry): ObjectStore & { close?(): void };
  /** The runner's tool cache: the restore drill's etcd tools are cached across jobs on self-hosted runners. */
  toolCache: ToolCache;
}

export const defaultDeps: BackupFreshnessActionDeps = {
  clock: systemClock,
  objectStore: (settings, secrets) => s3ObjectStore(settings, secrets),
  toolCache: tc,
};
