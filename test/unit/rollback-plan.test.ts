/**
 * The rollback's pure parts: the config refuses before anything connects (confirm, skip-nodes,
 * unpinned nodes), the plan orders phases and nodes as rke2-facts.md §10 says, the node commands
 * pick the right restore flags, and stale Node status is told from a fresh one.
 */
import { readRollbackConfig, RollbackInputs } from '../../src/rollback/config.js';
import { buildPlan } from '../../src/rollback/plan.js';
import { clusterReset, parseNodeStates, install } from '../../src/rollback/commands.js';
import { rke2Paths } from '../../src/rke2/paths.js';
import { SecretRegistry } from '../../src/lib/secrets.js';
import { InputError } from '../../src/lib/errors.js';
import { makeKey } from '../helpers/keys.js';

const key = makeKey().privateKey;
const inventory = {
  version: 1,
  cluster: 'prod',
  masters: ['m0', 'm1', 'm2'].map((n, i) => ({
    name: n,
    address: `10.0.0.${i + 1}`,
    host_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDVkcdBFwYKp4XkJBq11gJbOuO28VEAYnpZtfWjBo6Zx'],
  })),
  workers: ['w0', 'w1'].map((n, i) => ({
    name: n,
    address: `10.0.1.${i + 1}`,
    host_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDVkcdBFwYKp4XkJBq11gJbOuO28VEAYnpZtfWjBo6Zx'],
  })),
  rke2: { version: 'v1.34.4+rke2r1' },
};
const read = (inputs: Record<string, string>) =>
  readRollbackConfig(
    (n) =>
      ({ [RollbackInputs.inventory]: JSON.stringify(inventory), [RollbackInputs.sshKey]: key, ...inputs })[
        n
      ] ?? '',
    new SecretRegistry(),
  );

test('confirm must be the cluster name unless dry-run', async () => {
  await expect(read({})).rejects.toThrow(/confirm: is empty: .*set confirm to the cluster's name \(prod\)/);
  await expect(read({ confirm: 'staging' })).rejects.toThrow(InputError);
  await expect(read({ confirm: 'prod' })).resolves.toBeTruthy();
  await expect(read({ 'dry-run': 'true' })).resolves.toBeTruthy();
});

test('only workers can be skipped, and only nodes of the cluster', async () => {
  await expect(read({ confirm: 'prod', 'skip-nodes': 'm1' })).rejects.toThrow(/m1 is a master/);
  await expect(read({ confirm: 'prod', 'skip-nodes': 'nope' })).rejects.toThrow(
    /"nope" is not a node of prod/,
  );
  const c = await read({ confirm: 'prod', 'skip-nodes': 'w1' });
  expect(c.rollback.nodes.map((n) => n.name)).toEqual(['m0', 'm1', 'm2', 'w0']);
});

test('the plan: killall workers -> peers -> master-0, reinstall where it differs, reset, peers one at a time, workers', async () => {
  const { rollback } = await read({ confirm: 'prod' });
  const nodes = rollback.nodes.map((n) => ({
    node: n.name,
    role: n.role,
    reachable: true,
    version: n.name === 'w0' ? 'v1.34.4+rke2r1' : 'v1.34.5+rke2r1',
    target: 'v1.34.4+rke2r1',
    reinstall: n.name !== 'w0',
    message: '',
  }));
  const plan = buildPlan(rollback, {
    source: { kind: 'local', path: '/var/lib/rancher/rke2/server/db/snapshots/s-m0-1' },
    version: 'v1.34.4+rke2r1',
    nodes,
    stamp: 'X',
    veleroBackup: null,
  });
  expect(plan.map((p) => p.id)).toEqual([
    'stop',
    'install',
    'reset',
    'start-master',
    'join-peers',
    'start-workers',
    'velero',
    'health',
  ]);
  expect(plan[0]!.steps.map((s) => s.node)).toEqual(['w0', 'w1', 'm1', 'm2', 'm0']);
  expect(plan[1]!.steps.map((s) => s.node)).toEqual(['m0', 'm1', 'm2', 'w1']);
  expect(plan[1]!.steps.at(-1)!.command).toContain('INSTALL_RKE2_TYPE=agent');
  expect(plan[4]!.steps.map((s) => s.node)).toEqual(['m1', 'm1', 'm2', 'm2']);
  expect(plan[4]!.steps[0]!.command).toContain(
    'mv /var/lib/rancher/rke2/server/db /var/lib/rancher/rke2/server/db.bak-X',
  );
  expect(plan[4]!.steps[1]!.command).toContain('systemctl start --no-block rke2-server');
  expect(plan[6]!.note).toMatch(/no velero-namespaces/);
});

test('restore flags: local file with --etcd-s3=false and its full path; S3 with the bare name', () => {
  const paths = rke2Paths('/var/lib/rancher/rke2');
  expect(
    clusterReset(paths, { kind: 'local', path: '/var/lib/rancher/rke2/server/db/snapshots/a-m0-1' }, 60).text,
  ).toBe(
    'rm -f /var/lib/rancher/rke2/server/db/reset-flag; timeout -k 5 60 rke2 server --cluster-reset --etcd-s3=false --cluster-reset-restore-path=/var/lib/rancher/rke2/server/db/snapshots/a-m0-1',
  );
  expect(clusterReset(paths, { kind: 's3', file: 'a-m0-1.zip' }, 60).text).toMatch(
    /--cluster-reset --cluster-reset-restore-path=a-m0-1\.zip$/,
  );
  expect(() => clusterReset(paths, { kind: 's3', file: '../etc/passwd' }, 60)).toThrow();
  expect(() => install('sh -', 'v1.34; rm -rf /', 'master')).toThrow();
});

test('Node status: Ready, heartbeat and version parsed; a missing heartbeat is 0 (stale)', () => {
  const m = parseNodeStates('m0\tTrue\t2027-01-01T00:00:10Z\tv1.34.4+rke2r1\nw0\tFalse\t\tv1.34.5+rke2r1\n');
  expect(m.get('m0')).toEqual({
    name: 'm0',
    ready: true,
    heartbeat: Date.parse('2027-01-01T00:00:10Z') / 1000,
    version: 'v1.34.4+rke2r1',
  });
  expect(m.get('w0')!.heartbeat).toBe(0);
});
