import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildProbeScript,
  etcdFromReadyz,
  parseProbeOutput,
  type ProbeOptions,
} from '../../src/kube/probe.js';
import type { ClusterState } from '../../src/kube/types.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/health/readyz-etcd-failed.json', import.meta.url), 'utf8'),
) as ClusterState;

/**
 * The probe script is run for real by the local bash, against a fake kubectl in a fake data dir:
 * this proves it emits one valid JSON document without jq, that a failing part (non-zero exit,
 * stderr only) still leaves the others intact, and which arguments kubectl receives.
 */
describe('probe script', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'probe-test-'));
    mkdirSync(join(dir, 'bin'));
    // `kubectl get nodes,pods -n kube-system -o json` prints one List, each item with its kind.
    writeFileSync(
      join(dir, 'cluster.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          ...fixture.nodes!.items.map((n) => ({ kind: 'Node', ...n })),
          ...fixture.pods['kube-system']!.items.map((p) => ({ kind: 'Pod', ...p })),
        ],
      }),
    );
    writeFileSync(join(dir, 'readyz.err'), fixture.readyz.stderr);
    const kubectl = `#!/bin/bash
echo "$*" >> ${dir}/calls
shift 3  # --kubeconfig <file> --request-timeout=Ns
case "$*" in
  "get --raw /readyz?verbose") cat ${dir}/readyz.err >&2; exit 1 ;;
  "get nodes,pods -n kube-system -o json") cat ${dir}/cluster.json ;;
  "get pods -n velero -o json") echo 'Error from server (Forbidden): pods is forbidden' >&2; exit 1 ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
`;
    writeFileSync(join(dir, 'bin/kubectl'), kubectl);
    chmodSync(join(dir, 'bin/kubectl'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const opts = (): ProbeOptions => ({
    dataDir: dir,
    namespaces: ['kube-system', 'velero'],
    requestTimeoutSeconds: 7,
  });

  test('runs as one command and yields every part as JSON, failures included', () => {
    const command = buildProbeScript(opts());
    const stdout = execFileSync('sh', ['-c', command], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const state = parseProbeOutput(stdout, opts(), 'prod-eu-master-0');
    expect(state.readyz.code).toBe(1);
    expect(state.readyz.stderr).toBe(fixture.readyz.stderr);
    // No separate /readyz/etcd call: the verbose listing's etcd line is the etcd check.
    expect(state.readyzEtcd).toEqual({ code: 1, stdout: '', stderr: 'etcd check failed: reason withheld' });
    expect(state.nodes!.items).toHaveLength(6);
    expect(state.pods['kube-system']!.items.length).toBe(fixture.pods['kube-system']!.items.length);
    expect(state.pods.velero).toBeNull();
    expect(state.podsErrors).toEqual({
      velero: 'kubectl exited 1: Error from server (Forbidden): pods is forbidden',
    });
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').sort();
    expect(calls).toEqual(
      [
        '--kubeconfig /etc/rancher/rke2/rke2.yaml --request-timeout=7s get --raw /readyz?verbose',
        '--kubeconfig /etc/rancher/rke2/rke2.yaml --request-timeout=7s get nodes,pods -n kube-system -o json',
        '--kubeconfig /etc/rancher/rke2/rke2.yaml --request-timeout=7s get pods -n velero -o json',
      ].sort(),
    );
  });

  test('a missing kubectl still yields JSON, with the error in each part', () => {
    const o = { ...opts(), dataDir: join(dir, 'nowhere') };
    const stdout = execFileSync('sh', ['-c', buildProbeScript(o)], { encoding: 'utf8' });
    const state = parseProbeOutput(stdout, o, 'm0');
    expect(state.readyz.code).toBe(127);
    expect(state.nodes).toBeNull();
    expect(state.nodesError).toMatch(/kubectl exited 127: .*No such file or directory/);
  });

  test('the data dir and namespaces are validated before a script exists', () => {
    expect(() => buildProbeScript({ ...opts(), dataDir: '/var/lib/$(reboot)' })).toThrow(/rke2.data_dir/);
    expect(() => buildProbeScript({ ...opts(), dataDir: '/var/../etc' })).toThrow(/safe absolute path/);
    expect(() => buildProbeScript({ ...opts(), namespaces: ['kube-system; rm -rf /'] })).toThrow(/namespace/);
  });

  test('the etcd check from the verbose readyz listing', () => {
    expect(
      etcdFromReadyz({ code: 0, stdout: '[+]ping ok\n[+]etcd ok\nreadyz check passed\n', stderr: '' }),
    ).toEqual({
      code: 0,
      stdout: 'ok',
      stderr: '',
    });
    expect(
      etcdFromReadyz({
        code: 1,
        stdout: '',
        stderr: 'The connection to the server 127.0.0.1:6443 was refused',
      }),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: 'The connection to the server 127.0.0.1:6443 was refused',
    });
  });

  test('garbage output is an error naming what was printed', () => {
    expect(() => parseProbeOutput('bash: kubectl: command not found', opts(), 'm0')).toThrow(/no valid JSON/);
  });
});
