import { readFileSync } from 'node:fs';
import { evaluate } from '../../src/health/evaluate.js';
import { defaultPodRequirements } from '../../src/health/defaults.js';
import { parseReadyz } from '../../src/kube/readyz.js';
import type { ClusterState } from '../../src/kube/types.js';
import type { Check, HealthExpectations } from '../../src/health/types.js';

const fixture = (name: string): ClusterState =>
  JSON.parse(readFileSync(new URL(`./fixtures/health/${name}`, import.meta.url), 'utf8')) as ClusterState;

const MASTERS = ['prod-eu-master-0', 'prod-eu-master-1', 'prod-eu-master-2'];
const WORKERS = ['prod-eu-worker-0', 'prod-eu-worker-1', 'prod-eu-worker-2'];

function expectations(over: Partial<HealthExpectations> = {}, kubeProxy = true): HealthExpectations {
  return {
    nodeCount: 6,
    nodeNames: [...MASTERS, ...WORKERS],
    masterNames: MASTERS,
    pods: defaultPodRequirements({ kubeProxy }),
    ...over,
  };
}

const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));
const failed = (checks: Check[]) => checks.filter((c) => c.status === 'fail').map((c) => c.name);

describe('evaluate (pure health verdict)', () => {
  test('a healthy 3+3 cluster passes every check', () => {
    const checks = evaluate(fixture('healthy-3x3.json'), expectations({ rke2Version: 'v1.34.4+rke2r1' }));
    expect(failed(checks)).toEqual([]);
    const c = byName(checks);
    expect(c.nodes!.message).toBe('6/6 nodes Ready');
    expect(c.version!.status).toBe('pass');
    expect(c['pods/kube-dns']!.observed).toMatchObject({ ready: 2, total: 2 });
    // The autoscaler (k8s-app=kube-dns-autoscaler) and the finished helm job are not counted.
    expect(c['pods/kube-proxy']!.message).toBe('6/6 nodes have a Ready pod');
    expect(c['pods/etcd']!.message).toBe('3/3 masters have a Ready pod');
    expect(c.etcd!.message).toBe('etcd serves the API, 3/3 members Ready');
  });

  test('a cordoned node (Ready,SchedulingDisabled; spec.unschedulable) still counts as Ready', () => {
    const state = fixture('cordoned-worker.json');
    expect(state.nodes!.items.find((n) => n.metadata.name === 'prod-eu-worker-1')!.spec!.unschedulable).toBe(
      true,
    );
    const checks = evaluate(state, expectations());
    expect(failed(checks)).toEqual([]);
    const nodes = byName(checks).nodes!;
    expect(nodes.message).toBe('6/6 nodes Ready; cordoned but Ready: prod-eu-worker-1');
    expect(nodes.observed).toMatchObject({ ready: 6, cordoned: ['prod-eu-worker-1'] });
  });

  test('a stopped worker (Ready=Unknown) is reported NotReady by name', () => {
    const checks = evaluate(fixture('worker-stopped.json'), expectations());
    expect(failed(checks)).toEqual(['nodes']);
    const nodes = byName(checks).nodes!;
    expect(nodes.failing).toEqual(['prod-eu-worker-2']);
    expect(nodes.message).toContain('5/6 nodes Ready');
    expect(nodes.message).toContain(
      'prod-eu-worker-2 NotReady (status Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)',
    );
  });

  test('readyz verbose failures name the failing checks; etcd quorum loss is reported', () => {
    const checks = evaluate(fixture('readyz-etcd-failed.json'), expectations());
    const c = byName(checks);
    expect(c.api!.status).toBe('fail');
    expect(c.api!.message).toBe(
      'API not ready via prod-eu-master-0: failing readyz checks: etcd: reason withheld; etcd-readiness: reason withheld',
    );
    expect(c.etcd!.status).toBe('fail');
    expect(c.etcd!.message).toContain('/readyz/etcd failed');
    expect(c.etcd!.message).toContain('only 1/3 members Ready, quorum needs 2');
    expect(c.etcd!.failing).toEqual(['prod-eu-master-1', 'prod-eu-master-2']);
    expect(c['pods/etcd']!.message).toContain('prod-eu-master-2: etcd-prod-eu-master-2 CrashLoopBackOff');
  });

  test('parseReadyz reads the escaped body kubectl prints on a 500', () => {
    const r = parseReadyz(fixture('readyz-etcd-failed.json').readyz);
    expect(r).toMatchObject({
      ok: false,
      failed: ['etcd: reason withheld', 'etcd-readiness: reason withheld'],
      error: 'readyz check failed',
    });
    expect(r.passed).toBe(12);
    expect(
      parseReadyz({
        code: 1,
        stdout: '',
        stderr:
          'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n',
      }),
    ).toMatchObject({
      ok: false,
      failed: [],
      error:
        'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?',
    });
  });

  test('no kube-proxy pods with kube-proxy disabled: skipped, cluster healthy', () => {
    const checks = evaluate(fixture('kube-proxy-disabled.json'), expectations({}, false));
    expect(failed(checks)).toEqual([]);
    expect(byName(checks)['pods/kube-proxy']).toMatchObject({ status: 'skip' });
    expect(byName(checks)['pods/kube-proxy']!.message).toContain('rke2.kube_proxy: false');
  });

  test('no kube-proxy pods while kube-proxy is expected: fails per node', () => {
    const checks = evaluate(fixture('kube-proxy-disabled.json'), expectations());
    const kp = byName(checks)['pods/kube-proxy']!;
    expect(kp.status).toBe('fail');
    expect(kp.failing).toEqual([...MASTERS, ...WORKERS]);
    expect(kp.message).toContain('0/6 nodes have a Ready pod');
  });

  test('version skew mid-upgrade names the nodes behind and the failing pods with their images', () => {
    const checks = evaluate(fixture('upgrade-skew.json'), expectations({ rke2Version: 'v1.35.0+rke2r1' }));
    expect(failed(checks)).toEqual(['version', 'pods/kube-dns', 'pods/kube-proxy']);
    const c = byName(checks);
    expect(c.version!.message).toBe(
      '4/6 nodes not at v1.35.0+rke2r1: prod-eu-master-2 (v1.34.4+rke2r1), prod-eu-worker-0 (v1.34.4+rke2r1), prod-eu-worker-1 (v1.34.4+rke2r1), prod-eu-worker-2 (v1.34.4+rke2r1)',
    );
    expect(c.version!.failing).toEqual(['prod-eu-master-2', ...WORKERS]);
    expect(c['pods/kube-dns']!.message).toContain('CrashLoopBackOff, 7 restarts');
    expect(c['pods/kube-dns']!.message).toContain('rancher/hardened-coredns:v1.13.1-build20251120');
    expect(c['pods/kube-proxy']!.failing).toEqual(['prod-eu-master-1']);
    expect(c['pods/kube-proxy']!.message).toContain('hardened-kubernetes:v1.35.0-rke2r1');
  });

  test('without an expected version the version check is skipped but shows the skew', () => {
    const v = byName(evaluate(fixture('upgrade-skew.json'), expectations())).version!;
    expect(v.status).toBe('skip');
    expect(v.message).toBe('no expected version given; running v1.35.0+rke2r1, v1.34.4+rke2r1');
  });

  test('an explicit minimum tolerates a NotReady node beyond it, naming it', () => {
    const c = byName(
      evaluate(fixture('worker-stopped.json'), expectations({ nodeCount: 5, minimumOnly: true })),
    ).nodes!;
    expect(c.status).toBe('pass');
    expect(c.message).toMatch(
      /^5\/5 nodes Ready \(at least 5 required; tolerated: prod-eu-worker-2 NotReady/,
    );
    const strict = byName(evaluate(fixture('worker-stopped.json'), expectations({ nodeCount: 5 }))).nodes!;
    expect(strict.status).toBe('fail');
    const short = byName(
      evaluate(fixture('worker-stopped.json'), expectations({ nodeCount: 6, minimumOnly: true })),
    ).nodes!;
    expect(short.status).toBe('fail');
  });

  test('a node of the inventory that never registered is named, and the count is enforced', () => {
    const c = byName(
      evaluate(
        fixture('healthy-3x3.json'),
        expectations({ nodeCount: 7, nodeNames: [...MASTERS, ...WORKERS, 'prod-eu-worker-3'] }),
      ),
    ).nodes!;
    expect(c.status).toBe('fail');
    expect(c.failing).toEqual(['prod-eu-worker-3']);
    expect(c.message).toBe('6/7 nodes Ready: prod-eu-worker-3 not registered');
  });

  test('masters come from the control-plane label when the inventory gives none', () => {
    const checks = evaluate(
      fixture('healthy-3x3.json'),
      expectations({ masterNames: undefined, nodeNames: undefined, nodeCount: undefined }),
    );
    expect(failed(checks)).toEqual([]);
    expect(byName(checks)['pods/kube-apiserver']!.message).toBe('3/3 masters have a Ready pod');
  });

  test('no cluster state at all: every check fails with the reason', () => {
    const checks = evaluate(null, expectations(), 'prod-eu-master-0: unreachable: connect ECONNREFUSED');
    expect(checks.every((c) => c.status === 'fail')).toBe(true);
    expect(checks[0]!.message).toContain('connect ECONNREFUSED');
  });

  test('a namespace whose pods could not be read fails its pod checks with the kubectl error', () => {
    const state = {
      ...fixture('healthy-3x3.json'),
      pods: { 'kube-system': null },
      podsErrors: { 'kube-system': 'kubectl exited 1: Forbidden' },
    };
    const c = byName(evaluate(state, expectations()));
    expect(c['pods/kube-dns']!.message).toBe('cannot list pods in kube-system: kubectl exited 1: Forbidden');
  });
});

describe('evaluate on probe output recorded from the lab (real kube-apiserver, etcd, kubectl)', () => {
  const LAB_MASTERS = ['hcdbg-master-0', 'hcdbg-master-1', 'hcdbg-master-2'];
  const LAB_NODES = [...LAB_MASTERS, 'hcdbg-worker-0', 'hcdbg-worker-1', 'hcdbg-worker-2'];
  const labExp = (): HealthExpectations => ({
    nodeCount: 6,
    nodeNames: LAB_NODES,
    masterNames: LAB_MASTERS,
    rke2Version: 'v1.34.4+rke2r1',
    pods: defaultPodRequirements({ kubeProxy: true }),
  });

  test('healthy lab: every check passes', () => {
    expect(failed(evaluate(fixture('lab-healthy.json'), labExp()))).toEqual([]);
  });

  test('cordoned worker-1 counted Ready, stopped worker-2 named NotReady', () => {
    const checks = evaluate(fixture('lab-cordoned-worker-stopped.json'), labExp());
    const nodes = byName(checks).nodes!;
    expect(nodes.status).toBe('fail');
    expect(nodes.failing).toEqual(['hcdbg-worker-2']);
    expect(nodes.observed).toMatchObject({ ready: 5, cordoned: ['hcdbg-worker-1'] });
    expect(nodes.message).toMatch(/^5\/6 nodes Ready: hcdbg-worker-2 NotReady/);
  });

  test('etcd quorum lost: readyz names etcd, the rest say why they could not be read', () => {
    const checks = evaluate(fixture('lab-etcd-quorum-lost.json'), labExp());
    const c = byName(checks);
    expect(c.api!.message).toBe(
      'API not ready via hcdbg-master-0: failing readyz checks: etcd: reason withheld; etcd-readiness: reason withheld',
    );
    expect(c.etcd!.message).toContain('/readyz/etcd failed');
    expect(c.etcd!.failing).toEqual([]);
    expect(c.nodes!.message).toMatch(/^cannot list nodes: kubectl exited 1: Unable to connect to the server/);
  });

  test('bad upgrade: every node named with its new version, crash-looping CoreDNS named with its image', () => {
    // Recorded from a second lab, named hcdemo.
    const names = (l: string[]) => l.map((n) => n.replace('hcdbg', 'hcdemo'));
    const exp = { ...labExp(), nodeNames: names(LAB_NODES), masterNames: names(LAB_MASTERS) };
    const checks = evaluate(fixture('lab-bad-upgrade.json'), exp);
    expect(failed(checks)).toEqual(['version', 'pods/kube-dns']);
    const c = byName(checks);
    expect(c.version!.failing).toEqual(names(LAB_NODES));
    expect(c.version!.message).toContain('6/6 nodes not at v1.34.4+rke2r1: hcdemo-master-0 (v1.34.5+rke2r1)');
    expect(c['pods/kube-dns']!.message).toMatch(
      /^0\/2 Ready .*CrashLoopBackOff, \d+ restarts \[rancher\/hardened-coredns:/,
    );
  });
});
