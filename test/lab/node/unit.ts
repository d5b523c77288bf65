/**
 * SIMULATION of systemd for the rke2-server / rke2-agent units, as RKE2 ships them
 * (rancher/rke2 bundle/lib/systemd/system/rke2-server.service): Type=notify,
 * TimeoutStartSec=0, Restart=always, RestartSec=5s, KillMode=process.
 *
 *  - The unit's main process (`rke2 server`) is a small bash loop that runs the start-up work
 *    (`unit-run`, services.ts) and, once RKE2 has sent READY=1, turns into a placeholder
 *    (`exec -a "rke2 server" sleep infinity`) - so a running node costs one `sleep`, not a node
 *    process. A start-up that exits with an error is restarted after RestartSec (the unit is
 *    `activating (auto-restart)`); a start-up that waits (no quorum, no server to join) keeps
 *    the unit `activating (start)` for as long as it waits.
 *  - `systemctl start` blocks until READY (Type=notify with TimeoutStartSec=0: no timeout),
 *    fails only when the start attempt it waits for exits with an error ("Job for ... failed"),
 *    or when the unit is stopped meanwhile ("Job ... canceled"). `--no-block` returns at once.
 *  - `systemctl stop` kills the main process only (KillMode=process): etcd and kube-apiserver,
 *    started by it like static pods, keep running.
 *  - `is-active`, `is-failed`, `status`, `show` and `journalctl -u` print what systemd prints.
 *  - Lab-only: after the safety cap (timing.startSafetyCapSec, default 20 min) an activation
 *    gives up and the unit is `failed` (Result: timeout), so a forgotten lab dies eventually.
 */
import { readFileSync, existsSync, rmSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import {
  type NodeSimConfig,
  RUN_DIR,
  ensureDir,
  pidFile,
  readPid,
  alive,
  sleep,
  writeJson,
  journalPath,
  unitJournal,
  loadTiming,
  waitFor,
} from './common.js';

export type Unit = 'rke2-server' | 'rke2-agent';

export type ActiveState = 'inactive' | 'activating' | 'active' | 'failed' | 'deactivating';
export type SubState = 'dead' | 'start' | 'auto-restart' | 'running' | 'failed' | 'stop';
export type UnitResult = 'success' | 'exit-code' | 'timeout' | 'signal';

export interface UnitState {
  active: ActiveState;
  sub: SubState;
  result: UnitResult;
  /** When ActiveState last changed (ms since epoch). */
  since: number;
  /** Start attempts of this activation (NRestarts = attempt - 1). */
  attempt: number;
  mainPid: number | null;
  /** Exit status of the last main process that exited. */
  exitStatus?: number;
  /** When this activation began (the lab's safety cap counts from here). */
  activatedAt?: number;
  /** When the unit last entered `active` (ActiveEnterTimestamp; kept after it leaves). */
  activeEnterAt?: number;
}

export const DESCRIPTION: Record<Unit, string> = {
  'rke2-server': 'Rancher Kubernetes Engine v2 (server)',
  'rke2-agent': 'Rancher Kubernetes Engine v2 (agent)',
};

export function unitFor(node: NodeSimConfig): Unit {
  return node.role === 'master' ? 'rke2-server' : 'rke2-agent';
}

function stateFile(unit: Unit): string {
  return `${RUN_DIR}/${unit}.unit.json`;
}

const INACTIVE: UnitState = {
  active: 'inactive',
  sub: 'dead',
  result: 'success',
  since: 0,
  attempt: 0,
  mainPid: null,
};

function readStateFile(unit: Unit): UnitState {
  try {
    return JSON.parse(readFileSync(stateFile(unit), 'utf8')) as UnitState;
  } catch {
    return { ...INACTIVE };
  }
}

export function writeState(unit: Unit, state: UnitState): void {
  ensureDir(RUN_DIR);
  const activeEnterAt = state.activeEnterAt ?? readStateFile(unit).activeEnterAt;
  writeJson(stateFile(unit), activeEnterAt ? { ...state, activeEnterAt } : state);
}

/** `systemctl reset-failed <unit>`: a failed unit becomes inactive. */
export function resetFailed(unit: Unit): number {
  if (currentState(unit).active === 'failed') writeState(unit, { ...INACTIVE, since: Date.now() });
  return 0;
}

/** The unit's main process runs (its title is `rke2 server` / `rke2 agent`). */
export function mainAlive(unit: Unit): boolean {
  const pid = readPid(unit);
  if (!alive(pid)) return false;
  try {
    // Empty while the loop exec()s into its placeholder: still the same main process.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return cmd === '' || cmd.startsWith('rke2 ');
  } catch {
    return false;
  }
}

/** ActiveState/SubState as systemd would report them now. */
export function currentState(unit: Unit): UnitState {
  const s = readStateFile(unit);
  if (s.active === 'activating' || s.active === 'active') {
    if (mainAlive(unit)) return s;
    // Being spawned by `systemctl start` right now.
    if (s.mainPid === null && Date.now() - s.since < 30_000) return s;
    // The main process died without systemctl (SIGKILL, a crash): systemd records a failure.
    return { ...s, active: 'failed', sub: 'failed', result: 'signal' };
  }
  return s;
}

/** The main process: a start-up loop (Restart=always) that ends as a placeholder. */
function spawnMain(node: NodeSimConfig, unit: Unit): number {
  const title = unit === 'rke2-server' ? 'rke2 server' : 'rke2 agent';
  const restartSec = loadTiming(node).restartSec;
  // unit-run exits 0 once READY (then the loop becomes the placeholder), 3 to give up (unit
  // failed, no restart), anything else: restart after RestartSec.
  // After READY the kubelet turns the Node Ready nodeReadyDelaySec later: a background sleep
  // then a short `kubelet-ready` run, so no node process waits out the delay.
  const script = [
    'n=0',
    'while :; do',
    '  n=$((n+1))',
    '  "$0" --disable-warning=NodeVersionSupportWarning "$1" unit-run "$2" "$n"',
    '  rc=$?',
    '  if [ "$rc" -eq 0 ]; then',
    '    if [ -f "$5/$2.ready-after" ]; then',
    '      d=$(cat "$5/$2.ready-after"); rm -f "$5/$2.ready-after"',
    '      (sleep "$d"; exec "$0" --disable-warning=NodeVersionSupportWarning "$1" kubelet-ready "$2") &',
    '    fi',
    '    exec -a "$3" sleep infinity',
    '  fi',
    '  if [ "$rc" -eq 3 ]; then exit 1; fi',
    '  sleep "$4"',
    'done',
  ].join('\n');
  ensureDir(RUN_DIR);
  const fd = openSync(journalPath(unit), 'a');
  const child = spawn(
    '/bin/bash',
    ['-c', script, process.execPath, process.argv[1]!, unit, title, String(restartSec), RUN_DIR],
    { detached: true, stdio: ['ignore', fd, fd], argv0: title },
  );
  child.unref();
  if (!child.pid) throw new Error(`cannot start ${unit}`);
  writeJson(pidFile(unit), child.pid);
  return child.pid;
}

function jobFailed(unit: Unit, result: UnitResult): string {
  const why =
    result === 'timeout'
      ? 'a timeout was exceeded'
      : result === 'signal'
        ? 'a fatal signal was delivered to the control process'
        : 'the control process exited with error code';
  return `Job for ${unit}.service failed because ${why}.\nSee "systemctl status ${unit}.service" and "journalctl -xeu ${unit}.service" for details.\n`;
}

/** `systemctl start [--no-block] <unit>`; returns the exit code. */
export async function start(node: NodeSimConfig, unit: Unit, noBlock: boolean): Promise<number> {
  if (unit !== unitFor(node)) {
    process.stderr.write(`Failed to start ${unit}.service: Unit ${unit}.service not found.\n`);
    return 5;
  }
  let s = currentState(unit);
  if (s.active === 'active') return 0;
  let waitAttempt = 1;
  if (s.active === 'activating') {
    waitAttempt = s.sub === 'auto-restart' ? s.attempt + 1 : Math.max(1, s.attempt);
  } else {
    const j = unitJournal(unit, node.name, 1);
    j.systemd(`Starting ${unit}.service - ${DESCRIPTION[unit]}...`);
    writeState(unit, { ...INACTIVE, active: 'activating', sub: 'start', since: Date.now() });
    spawnMain(node, unit);
  }
  if (noBlock) return 0;
  for (;;) {
    s = currentState(unit);
    if (s.active === 'active') return 0;
    if (s.active === 'inactive') {
      process.stderr.write(`Job for ${unit}.service canceled.\n`);
      return 1;
    }
    if (s.active === 'failed') {
      process.stderr.write(jobFailed(unit, s.result));
      return 1;
    }
    if (s.sub === 'auto-restart' && s.attempt >= waitAttempt) {
      process.stderr.write(jobFailed(unit, 'exit-code'));
      return 1;
    }
    await sleep(200);
  }
}

/** `systemctl stop <unit>`: the main process only (KillMode=process). */
export async function stop(node: NodeSimConfig, unit: Unit): Promise<number> {
  if (unit !== unitFor(node)) {
    process.stderr.write(`Failed to stop ${unit}.service: Unit ${unit}.service not loaded.\n`);
    return 5;
  }
  const s = readStateFile(unit);
  const pid = readPid(unit);
  const j = unitJournal(unit, node.name, 1);
  if (mainAlive(unit) && pid) {
    j.systemd(`Stopping ${unit}.service - ${DESCRIPTION[unit]}...`);
    // The main process and its start-up worker share a process group (not etcd/kube-apiserver:
    // they run in their own sessions, like static pods outside the unit's cgroup).
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // gone
    }
    // TimeoutStopSec default 90 s, then SIGKILL.
    if (!(await waitFor(() => !alive(pid), 90_000, 50))) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
      await waitFor(() => !alive(pid), 30_000, 50);
    }
    j.systemd(`${unit}.service: Deactivated successfully.`);
    j.systemd(`Stopped ${unit}.service - ${DESCRIPTION[unit]}.`);
  }
  if (s.active !== 'inactive' || existsSync(stateFile(unit)))
    writeState(unit, { ...INACTIVE, since: Date.now(), result: 'success' });
  rmSync(pidFile(unit), { force: true });
  return 0;
}

export function isActiveExit(s: UnitState): number {
  return s.active === 'active' ? 0 : 3;
}

function ago(ms: number): string {
  let sec = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  const parts: string[] = [];
  const h = Math.floor(sec / 3600);
  sec -= h * 3600;
  const m = Math.floor(sec / 60);
  sec -= m * 60;
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}min`);
  if (!h && (sec || parts.length === 0)) parts.push(`${sec}s`);
  return `${parts.join(' ')} ago`;
}

function systemdTime(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}

/** `systemctl status <unit>` (systemd 252 layout) with the journal's last 10 lines. */
export function statusText(unit: Unit): string {
  const s = currentState(unit);
  const dot = s.active === 'active' ? '●' : s.active === 'failed' ? '×' : s.active === 'inactive' ? '○' : '●';
  const sub = s.active === 'failed' ? `(Result: ${s.result})` : `(${s.sub})`;
  const restartResult = s.sub === 'auto-restart' ? ` (Result: ${s.result})` : '';
  const since = s.since ? ` since ${systemdTime(s.since)}; ${ago(s.since)}` : '';
  const lines = [
    `${dot} ${unit}.service - ${DESCRIPTION[unit]}`,
    `     Loaded: loaded (/usr/local/lib/systemd/system/${unit}.service; enabled; preset: enabled)`,
    `     Active: ${s.active} ${sub}${restartResult}${since}`,
    '       Docs: https://github.com/rancher/rke2#readme',
  ];
  const pid = readPid(unit);
  if (s.sub === 'auto-restart') {
    // Between two attempts the main process has exited; systemd waits RestartSec.
    lines.push(
      `    Process: ${pid ?? 0} ExecStart=/usr/local/bin/rke2 ${unit === 'rke2-server' ? 'server' : 'agent'} (code=exited, status=${s.exitStatus ?? 1}/FAILURE)`,
    );
    lines.push(`   Main PID: ${pid ?? 0} (code=exited, status=${s.exitStatus ?? 1}/FAILURE)`);
  } else if (mainAlive(unit) && pid) {
    lines.push(`   Main PID: ${pid} (rke2)`);
    lines.push(`     CGroup: /system.slice/${unit}.service`);
    lines.push(`             └─${pid} "/usr/local/bin/rke2 ${unit === 'rke2-server' ? 'server' : 'agent'}"`);
  } else if (s.exitStatus !== undefined && s.active !== 'inactive') {
    lines.push(
      `    Process: ${pid ?? 0} ExecStart=/usr/local/bin/rke2 ${unit === 'rke2-server' ? 'server' : 'agent'} (code=exited, status=${s.exitStatus}/FAILURE)`,
    );
  }
  const tail = journalTail(unit, 10);
  return `${lines.join('\n')}\n${tail ? `\n${tail}` : ''}`;
}

export function journalTail(unit: string, n: number | null): string {
  let text: string;
  try {
    text = readFileSync(journalPath(unit), 'utf8');
  } catch {
    return '';
  }
  const lines = text.split('\n').filter(Boolean);
  return `${(n === null ? lines : lines.slice(-n)).join('\n')}${lines.length ? '\n' : ''}`;
}

/** `systemctl show <unit> [-p A,B] [--value]` for the properties tools read. */
export function showText(unit: Unit, props: string[], valueOnly: boolean): string {
  const s = currentState(unit);
  const pid = readPid(unit);
  const all: Record<string, string> = {
    Id: `${unit}.service`,
    Description: DESCRIPTION[unit],
    LoadState: 'loaded',
    ActiveState: s.active,
    SubState: s.sub,
    Result: s.result,
    MainPID: mainAlive(unit) && pid && s.sub !== 'auto-restart' ? String(pid) : '0',
    NRestarts: String(Math.max(0, s.attempt - 1)),
    ExecMainStatus: String(s.exitStatus ?? 0),
    StateChangeTimestamp: s.since ? systemdTime(s.since) : '',
    ActiveEnterTimestamp: s.activeEnterAt ? systemdTime(s.activeEnterAt) : '',
    // Lab: wall-clock microseconds (only its changing matters to a tool).
    ActiveEnterTimestampMonotonic: String((s.activeEnterAt ?? 0) * 1000),
    Type: 'notify',
    Restart: 'always',
    TimeoutStartUSec: 'infinity',
    KillMode: 'process',
  };
  const keys = props.length > 0 ? props : Object.keys(all);
  return keys.map((k) => (valueOnly ? `${all[k] ?? ''}\n` : `${k}=${all[k] ?? ''}\n`)).join('');
}
