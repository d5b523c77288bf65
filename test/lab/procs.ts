/**
 * Finding and ending a lab's processes. A process belongs to a lab when
 *  - its environment carries RKE2OPS_LAB=<lab id> (s3rver and the Velero controller get it when
 *    spawned; sshd's `SetEnv` gives it to every session and so to what sessions start: etcd,
 *    kube-apiserver, the unit placeholders), or
 *  - it lives in one of the lab's node mount namespaces (its mountinfo shows a node dir of the
 *    lab bind-mounted on /var/lib/rancher). This catches sshd itself and its session processes,
 *    whose environment block sshd overwrites with its process title (setproctitle).
 * Ending them all also ends the node mount namespaces and their mounts: nothing else holds them.
 * Only such processes are ever signalled.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const MARKER = 'RKE2OPS_LAB';

export interface LabProcess {
  pid: number;
  labId: string;
  node: string;
  cmd: string;
}

/** The node a process's mount namespace belongs to, when it is a lab node namespace of `dir` (any lab when undefined). */
function nodeNamespace(pid: number, dir: string | undefined): string | null {
  let info: string;
  try {
    info = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return null;
  }
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    // fields: id parent major:minor root mountpoint ...
    if (f[4] !== '/var/lib/rancher') continue;
    const m = /\/nodes\/([^/]+)\/var-lib-rancher$/.exec(f[3] ?? '');
    if (!m) continue;
    // The root is relative to the filesystem holding the lab dir: compare as a suffix.
    if (dir === undefined || `${dir}/nodes/${m[1]}/var-lib-rancher`.endsWith(f[3]!)) return m[1]!;
  }
  return null;
}

export function labProcesses(labId?: string, labDir?: string): LabProcess[] {
  const out: LabProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    const vars = env.split('\0');
    let id = vars.find((v) => v.startsWith(`${MARKER}=`))?.slice(MARKER.length + 1);
    let nsNode: string | null = null;
    if (!id || (labId !== undefined && id !== labId)) {
      // Not marked for this lab: still ours if it lives in one of the lab's node namespaces.
      if (labId !== undefined && labDir === undefined) continue;
      nsNode = nodeNamespace(pid, labDir);
      if (!nsNode) continue;
      id = labId ?? 'unknown';
    }
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (!cmd) continue; // zombie
    const node = nsNode ?? vars.find((v) => v.startsWith(`${MARKER}_NODE=`))?.slice(MARKER.length + 6) ?? '';
    out.push({ pid, labId: id, node, cmd });
  }
  return out;
}

export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** SIGKILLs every process of the lab (or of every lab) until none is left. */
export async function killLab(labId?: string, labDir?: string, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let killed = 0;
  for (;;) {
    const procs = labProcesses(labId, labDir);
    if (procs.length === 0) return killed;
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    if (Date.now() > end) {
      throw new Error(
        `lab processes still alive after ${timeoutMs} ms: ${procs.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
