import { z } from 'zod';
import type { RemoteShell } from '../ssh/types.js';
import { runBatch } from '../rke2/batch.js';
import { readFileIfExists, writeFileAtomic } from '../rke2/commands.js';
import type { Rke2Paths } from '../rke2/paths.js';
import { stateFile } from './commands.js';
import { PHASE_IDS, type PhaseId } from './types.js';

/**
 * The state file on master-0 (`<data-dir>/server/rke2-ops/rollback-state.json`): which phases of
 * a rollback to which snapshot have completed (and, within the peer phase, which masters have
 * joined). A re-run for the same snapshot resumes after the last completed phase; MTTR counts
 * from the first run's start. Written after every phase, atomically.
 */
export const STATE_FORMAT = 'rke2-ops.rollback-state/v1';

const schema = z.object({
  format: z.literal(STATE_FORMAT),
  runId: z.string(),
  cluster: z.string(),
  snapshot: z.string(),
  sha256: z.string(),
  /** Epoch ms of the first run's start (MTTR's start). */
  startedAt: z.number(),
  completed: z.array(z.enum(PHASE_IDS)),
  joined: z.array(z.string()).default([]),
  /** Stamp for the kept server/db copies (the same across resumed runs). */
  stamp: z.string(),
  finished: z.boolean(),
});
export type RollbackState = z.infer<typeof schema>;

export async function readState(shell: RemoteShell, paths: Rke2Paths): Promise<RollbackState | null> {
  const r = await runBatch(shell, [{ key: 's', command: readFileIfExists(stateFile(paths)) }], {
    timeoutMs: 30_000,
  });
  const text = r.s!.stdout.trim();
  if (!text) return null;
  try {
    const p = schema.safeParse(JSON.parse(text));
    return p.success ? p.data : null;
  } catch {
    return null;
  }
}

export async function writeState(shell: RemoteShell, paths: Rke2Paths, state: RollbackState): Promise<void> {
  const r = await runBatch(
    shell,
    [{ key: 'w', command: writeFileAtomic(stateFile(paths), `${JSON.stringify(state)}\n`) }],
    { timeoutMs: 30_000 },
  );
  if (r.w!.code !== 0) throw new Error(`cannot write ${stateFile(paths)}: ${r.w!.stderr.trim()}`);
}

/** Whether an earlier run's state is one this run continues. */
export function resumable(
  state: RollbackState | null,
  cluster: string,
  snapshot: string,
  sha256: string,
): boolean {
  return Boolean(
    state &&
    !state.finished &&
    state.cluster === cluster &&
    state.snapshot === snapshot &&
    state.sha256 === sha256,
  );
}

export const completedSet = (s: RollbackState): Set<PhaseId> => new Set(s.completed);
