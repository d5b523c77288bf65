import { jest } from '@jest/globals';
import { runHealthCheck, type HealthConfig, type HealthDeps } from '../../src/health/run.js';
import { defaultPodRequirements } from '../../src/health/defaults.js';
import { silentLogger } from '../../src/lib/logger.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import type { Connector } from '../../src/kube/probe-runner.js';
import { fakeClock, fakeCluster, fixture, MASTERS, target } from './health-fakes.js';

function config(over: Partial<HealthConfig> = {}): HealthConfig {
  return {
    cluster: 'prod-eu',
    masters: MASTERS.map(target),
    nodes: MASTERS.map((m) => ({ ...target(m), role: 'master' as const })),
    sshCheck: 'none',
    hostKeysVerified: true,
    dataDir: '/var/lib/rancher/rke2',
    expectations: { nodeCount: 6, masterNames: MASTERS, pods: defaultPodRequirements({ kubeProxy: true }) },
    urls: [],
    timeoutSeconds: 60,
    pollIntervalSeconds: 5,
    urlTimeoutSeconds: 5,
    requestTimeoutSeconds: 10,
    connectTimeoutSeconds: 5,
    ...over,
  };
}

function deps(connect: Connector, clock = fakeClock()): HealthDeps {
  return {
    connect,
    credentials: { privateKey: 'k' },
    logger: silentLogger,
    secrets: new SecretRegistry(),
    clock,
    fetch: jest.fn() as never,
  };
}

describe('runHealthCheck (poll loop)', () => {
  test('a healthy cluster passes in one poll with one exec', async () => {
    const c = fakeCluster(() => fixture('healthy-3x3.json'));
    const report = await runHealthCheck(config(), deps(c.connect));
    expect(report.healthy).toBe(true);
    expect(report.polls).toBe(1);
    expect(c.execs).toEqual(['prod-eu-master-0']);
    expect(report.pollHistory[0]!.execs).toBe(1);
    expect(report.timeToHealthySeconds).toBe(0);
  });

  test('a cluster that recovers during polling is healthy, with its time to healthy', async () => {
    const c = fakeCluster((_h, call) => fixture(call < 3 ? 'worker-stopped.json' : 'healthy-3x3.json'));
    const report = await runHealthCheck(config(), deps(c.connect));
    expect(report.healthy).toBe(true);
    expect(report.polls).toBe(3);
    expect(report.timeToHealthySeconds).toBe(10);
    expect(report.pollHistory.map((p) => p.failed)).toEqual([['nodes'], ['nodes'], []]);
    // One connection, reused across polls.
    expect(c.connects).toEqual(['prod-eu-master-0']);
  });

  test('an unhealthy cluster stops at the timeout and reports the failing checks', async () => {
    const c = fakeCluster(() => fixture('upgrade-skew.json'));
    const report = await runHealthCheck(
      config({
        timeoutSeconds: 12,
        expectations: { ...config().expectations, rke2Version: 'v1.35.0+rke2r1' },
      }),
      deps(c.connect),
    );
    expect(report.healthy).toBe(false);
    expect(report.polls).toBe(4); // at 0, 5, 10 and 12 s
    expect(report.durationSeconds).toBe(12);
    expect(report.timeToHealthySeconds).toBeNull();
    expect(report.failedChecks).toEqual(['version', 'pods/kube-dns', 'pods/kube-proxy']);
  });

  test('an unreachable master-0 is passed over; the next polls ask the master that answered first', async () => {
    const c = fakeCluster(
      (_h, call) => fixture(call < 2 ? 'worker-stopped.json' : 'healthy-3x3.json'),
      ['prod-eu-master-0'],
    );
    const report = await runHealthCheck(config(), deps(c.connect));
    expect(report.healthy).toBe(true);
    expect(report.pollHistory[0]).toMatchObject({ via: 'prod-eu-master-1', execs: 1 });
    expect(report.pollHistory[0]!.unreachable[0]).toMatchObject({ host: 'prod-eu-master-0' });
    expect(report.pollHistory[1]!.unreachable).toEqual([]);
    expect(c.connects).toEqual(['prod-eu-master-0', 'prod-eu-master-1']);
  });

  test('no master reachable: a verdict all the same, naming why', async () => {
    const c = fakeCluster(() => fixture('healthy-3x3.json'), MASTERS);
    const report = await runHealthCheck(config({ timeoutSeconds: 1 }), deps(c.connect));
    expect(report.healthy).toBe(false);
    expect(report.checks.find((c) => c.name === 'api')!.message).toContain('prod-eu-master-2: unreachable');
  });

  test('a master whose API cannot list nodes is passed over for one that can', async () => {
    const broken = { ...fixture('healthy-3x3.json'), nodes: null };
    const c = fakeCluster((h) =>
      h === 'prod-eu-master-0' ? (broken as never) : fixture('healthy-3x3.json'),
    );
    // The fake encodes `nodes: null` as "null", which the parser refuses like a failed kubectl.
    const report = await runHealthCheck(config(), deps(c.connect));
    expect(report.healthy).toBe(true);
    expect(report.pollHistory[0]!.via).toBe('prod-eu-master-1');
    expect(report.pollHistory[0]!.execs).toBe(2);
  });

  test('secrets never reach the report', async () => {
    const state = fixture('worker-stopped.json');
    state.nodes!.items[5]!.status!.conditions![3]!.message = 'token s3cr3t-T0KEN leaked';
    const c = fakeCluster(() => state);
    const d = deps(c.connect);
    d.secrets.add('s3cr3t-T0KEN');
    const report = await runHealthCheck(config({ timeoutSeconds: 1 }), d);
    expect(JSON.stringify(report)).not.toContain('s3cr3t-T0KEN');
  });
});

describe('time budget', () => {
  test('once the budget is spent, no further master is tried after the first', async () => {
    const clock = fakeClock();
    const broken = { ...fixture('healthy-3x3.json'), nodes: null };
    const c = fakeCluster(() => {
      clock.advance(10_000); // each probe burns the 10 s request timeout
      return broken as never;
    });
    const report = await runHealthCheck(config({ timeoutSeconds: 5 }), deps(c.connect, clock));
    expect(report.polls).toBe(1);
    expect(c.execs).toEqual(['prod-eu-master-0']);
    expect(report.pollHistory[0]!.unreachable.map((a) => a.error)).toEqual([
      expect.stringContaining('cannot list nodes'),
      'not tried: the time budget is spent',
      'not tried: the time budget is spent',
    ]);
  });
});

describe('poll cadence', () => {
  test('polls start every interval: a slow poll shortens the wait, it does not add to it', async () => {
    const clock = fakeClock();
    const c = fakeCluster((_h, call) => {
      clock.advance(1500); // each poll takes 1.5 s
      return fixture(call < 3 ? 'worker-stopped.json' : 'healthy-3x3.json');
    });
    const report = await runHealthCheck(config({ pollIntervalSeconds: 5 }), deps(c.connect, clock));
    expect(report.pollHistory.map((p) => p.atSeconds)).toEqual([0, 5, 10]);
    expect(report.timeToHealthySeconds).toBe(11.5);
  });
});
