import type { SnapshotConfig } from './config.js';
import { runSave } from './save.js';
import { runList, runVerify } from './verify-existing.js';
import type { SnapshotDeps } from './session.js';
import type { SnapshotReport } from './types.js';

/** The snapshot capability: save (default), verify an existing snapshot, or list them. */
export function runSnapshot(config: SnapshotConfig, deps: SnapshotDeps): Promise<SnapshotReport> {
  switch (config.mode) {
    case 'save':
      return runSave(config, deps);
    case 'verify':
      return runVerify(config, deps);
    case 'list':
      return runList(config, deps);
  }
}
