import { systemClock, type Clock } from '../../lib/clock.js';
import type { S3Settings } from '../../backup/config.js';
import { s3Client, s3ObjectStore, type ObjectStore } from '../../backup/objects.js';

/** The backup-freshness action's side effects, injectable for tests. */
export interface BackupFreshnessActionDeps {
  clock: Clock;
  objectStore(settings: S3Settings): ObjectStore;
}

export const defaultDeps: BackupFreshnessActionDeps = {
  clock: systemClock,
  objectStore: (settings) => s3ObjectStore(s3Client(settings)),
};
