/** Fakes shared by the health-check unit tests: fixtures, a scripted cluster, a virtual clock. */
import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { ClusterState } from '../../src/kube/types.js';
import type { ExecResult, RemoteShell, SshTarget } from '../../src/ssh/types.js';
import type { Connector } from '../../src/kube/probe-runner.js';

export const fixture = (name: string): ClusterState =>
  JSON.parse(readFileSync(new URL(`./fixtures/health/${name}`, import.meta.url), 'utf8')) as ClusterState;

/** Encodes a fixture as the probe script prints it (base64 parts in one JSON line). */
export function probeStdout(state: ClusterState): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const part = (code: number, out: string, err = '') => ({ code, out: b64(out), err: b64(err) });
  return (
    JSON.stringify({
      v: 1,
      host: state.probedVia,
      parts: {
        readyz: part(state.readyz.code, state.readyz.stdout, state.readyz.stderr),
        readyz_etcd: part(state.readyzEtcd.code, state.readyzEtcd.stdout, state.readyzEtcd.stderr),
        nodes: part(0, JSON.stringify(state.nodes)),
        pods_0: part(0, JSON.stringify(state.pods['kube-system'])),
      },
    }) + '\n'
  );
}

export const MASTERS = ['prod-eu-master-0', 'prod-eu-master-1', 'prod-eu-master-2'];
export const target = (name: string): SshTarget => ({
  name,
  address: '127.0.0.1',
  port: 22,
  user: 'root',
  hostKeys: ['x'],
});

export function fakeClock() {
  let t = 1_800_000_000_000;
  return {
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
    advance: (ms: number) => void (t += ms),
  };
}

/** A connector whose masters answer from a script of states; `down` masters refuse to connect. */
export function fakeCluster(states: (host: string, call: number) => ClusterState, down: string[] = []) {
  const execs: string[] = [];
  const connects: string[] = [];
  const connect = jest.fn<Connector>(async (t) => {
    connects.push(t.name);
    if (down.includes(t.name)) throw new Error(`${t.name}: connect ECONNREFUSED`);
    const shell: RemoteShell = {
      target: t,
      exec: async (command): Promise<ExecResult> => {
        execs.push(t.name);
        const state = { ...states(t.name, execs.length), probedVia: t.name };
        return {
          host: t.name,
          command,
          code: 0,
          signal: null,
          stdout: probeStdout(state),
          stderr: '',
          truncated: false,
          timedOut: false,
          durationMs: 5,
        };
      },
      close: () => {},
    };
    return shell;
  });
  return { connect, execs, connects };
}
