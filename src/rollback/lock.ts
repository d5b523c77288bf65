import { sh } from '../lib/quote.js';
import type { Rke2Paths } from '../rke2/paths.js';
import type { RemoteShell } from '../ssh/types.js';
import { runBatch } from '../rke2/batch.js';
import { lockDir, stateDir } from './commands.js';

/**
 * The rollback lock on master-0: a directory (`mkdir` is atomic) holding the owner's run id and
 * a heartbeat file the holder touches every few seconds. A second rollback is refused while the
 * heartbeat is fresh; a lock whose heartbeat is older than `staleSeconds` belonged to a run that
 * died (a killed runner) and is taken over, so a re-run can resume.
 */
export type LockResult =
  { acquired: true; takenOverFrom?: string } | { acquired: false; owner: string; ageSeconds: number };

export async function acquireLock(
  shell: RemoteShell,
  paths: Rke2Paths,
  runId: string,
  staleSeconds: number,
): Promise<LockResult> {
  const dir = lockDir(paths);
  const stale = String(Math.round(staleSeconds));
  const r = await runBatch(
    shell,
    [
      {
        key: 'lock',
        command: sh`mkdir -p ${stateDir(paths)}
if mkdir ${dir} 2>/dev/null; then printf %s ${runId} >${dir}/owner; touch ${dir}/heartbeat; echo acquired
else
  owner=$(cat ${dir}/owner 2>/dev/null || echo unknown)
  age=$(( $(date +%s) - $(stat -c %Y ${dir}/heartbeat 2>/dev/null || echo 0) ))
  if [ "$owner" = ${runId} ] || [ "$age" -ge ${stale} ]; then printf %s ${runId} >${dir}/owner; touch ${dir}/heartbeat; echo "taken $owner"
  else echo "held $owner $age"; fi
fi`,
      },
    ],
    { timeoutMs: 30_000 },
  );
  const out = r.lock!.stdout.trim();
  if (r.lock!.code !== 0) throw new Error(`cannot take the lock ${dir}: ${r.lock!.stderr.trim()}`);
  if (out === 'acquired') return { acquired: true };
  const [word, owner = 'unknown', age = '0'] = out.split(' ');
  if (word === 'taken') return { acquired: true, takenOverFrom: owner };
  return { acquired: false, owner, ageSeconds: Number(age) };
}

/** Keeps the heartbeat fresh until stopped (one tiny exec every `everyMs` on master-0). */
export function startHeartbeat(shell: RemoteShell, paths: Rke2Paths, everyMs: number): () => void {
  let stopped = false;
  const beat = async () => {
    if (stopped) return;
    await shell
      .exec(sh`touch ${lockDir(paths)}/heartbeat`.text, { timeoutMs: 10_000 })
      .catch(() => undefined);
  };
  const timer = setInterval(() => void beat(), everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** Releases the lock if this run still owns it. */
export async function releaseLock(shell: RemoteShell, paths: Rke2Paths, runId: string): Promise<void> {
  const dir = lockDir(paths);
  await runBatch(
    shell,
    [
      {
        key: 'unlock',
        command: sh`if [ "$(cat ${dir}/owner 2>/dev/null)" = ${runId} ]; then rm -rf ${dir}; fi`,
      },
    ],
    { timeoutMs: 15_000 },
  );
}
