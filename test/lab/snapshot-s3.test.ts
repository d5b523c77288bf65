/**
 * Snapshot housekeeping and the S3 restore variant on a one-master lab (rke2-facts.md §1.6,
 * §2.4): delete and prune by name prefix, local and S3; with master-0's local copy gone, a
 * cluster-reset given only the file name downloads it from S3 (etcd-s3 from config.yaml) and
 * restores it; a reset without a restore path only resets membership and keeps the data.
 */
import { jest } from '@jest/globals';
import { createLab, type Lab } from './lab.js';
import { kubectl, kubectlJson } from './helpers.js';

jest.setTimeout(600_000);
let lab: Lab;
const M0 = 's3snap-master-0';

beforeAll(async () => {
  lab = await createLab({ masters: 1, workers: 0, name: 's3snap', timing: 'fast' });
});
afterAll(async () => {
  await lab?.destroy();
});

interface Ls {
  items: { spec: { snapshotName: string; location: string } }[];
}
const ls = async (): Promise<Ls['items']> => {
  const r = await (await lab.shell(M0)).run(['rke2', 'etcd-snapshot', 'ls', '-o', 'json']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Ls).items;
};
const save = async (name: string): Promise<string> => {
  const r = await (await lab.shell(M0)).run(['rke2', 'etcd-snapshot', 'save', '--name', name]);
  expect(r.code).toBe(0);
  const file = /Snapshot (\S+) saved\./.exec(r.stderr)?.[1];
  expect(file).toBeDefined();
  await new Promise((res) => setTimeout(res, 1100)); // distinct unix timestamps
  return file!;
};

test('delete and prune work by name, on the local copy and in S3', async () => {
  const a = await save('keep');
  const b1 = await save('ondemand-x');
  const b2 = await save('ondemand-x');
  const b3 = await save('ondemand-x');
  const s = await lab.shell(M0);
  const pruned = await s.run([
    'rke2',
    'etcd-snapshot',
    'prune',
    '--name',
    'ondemand-x',
    '--snapshot-retention',
    '1',
  ]);
  expect(pruned.code).toBe(0);
  let names = (await ls()).map((i) => i.spec.snapshotName);
  expect(names.filter((n) => n === b3)).toHaveLength(2); // newest kept, local + S3
  expect(names).not.toContain(b1);
  expect(names).not.toContain(b2);
  expect(names.filter((n) => n === a)).toHaveLength(2); // other prefixes untouched
  const del = await s.run(['rke2', 'etcd-snapshot', 'delete', b3, 'no-such-snapshot']);
  expect(del.code).toBe(0);
  expect(del.stderr).toContain(`Snapshot ${b3} deleted.`);
  expect(del.stderr).toContain('Snapshot no-such-snapshot not found.');
  names = (await ls()).map((i) => i.spec.snapshotName);
  expect(names).not.toContain(b3);
  // The ETCDSnapshotFile objects in the API follow the storage (local + S3 copy of `keep`).
  const objs = await kubectlJson<{ items: { spec: { snapshotName: string; location: string } }[] }>(s, [
    'get',
    'etcdsnapshotfiles',
  ]);
  const recorded = objs.items.map((o) => o.spec.snapshotName);
  expect(recorded.filter((n) => n === a)).toHaveLength(2);
  expect(recorded).not.toContain(b3);
  expect(recorded).not.toContain(b1);
});

test('restore from S3 by bare file name when the local copy is gone', async () => {
  const s = await lab.shell(M0);
  const snap = await save('pre-upgrade-s3');
  await kubectl(s, ['-n', 'openedx', 'create', 'configmap', 'after-snapshot', '--from-literal=a=b']);
  await lab.applyScenario('missing-snapshot', { node: M0, snapshot: snap });
  await lab.killall(M0);
  const r = await s.run(['rke2', 'server', '--cluster-reset', `--cluster-reset-restore-path=${snap}`]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('restart without --cluster-reset flag now');
  // Downloaded into the snapshot dir, as RKE2 does.
  expect((await s.run(['test', '-f', `/var/lib/rancher/rke2/server/db/snapshots/${snap}`])).code).toBe(0);
  await lab.service(M0, 'start');
  const cms = await kubectl(s, ['-n', 'openedx', 'get', 'configmaps', '-o', 'name']);
  expect(cms).not.toContain('after-snapshot');
  expect(cms).toContain('openedx-config');
});

test('a reset without a restore path keeps the data and resets membership', async () => {
  const s = await lab.shell(M0);
  await kubectl(s, ['-n', 'openedx', 'create', 'configmap', 'survives-reset', '--from-literal=a=b']);
  await lab.killall(M0);
  const r = await s.run(['rke2', 'server', '--cluster-reset']);
  expect(r.code).toBe(0);
  await lab.service(M0, 'start');
  expect(await kubectl(s, ['-n', 'openedx', 'get', 'configmap', 'survives-reset', '-o', 'name'])).toContain(
    'survives-reset',
  );
});
